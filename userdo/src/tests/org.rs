//! Organizations over real SQLite: membership, the role rules, invitations and the user's index.
#![allow(clippy::unwrap_used)]

use super::support::{TestObject, advance, object};
use crate::Error;
use crate::org::{
    self, Caller, Departure, INVITATION_TTL_MS, INVITATIONS_PER_DAY, MAX_ORGS_PER_USER, Member,
    Role,
};
use crate::store::Store;

const ORG: &str = "0123456789abcdef0123456789abcdef";

fn user(n: u8) -> Caller {
    Caller {
        user_id: format!("{:064x}", n),
        email: format!("user{n}@example.com"),
        session_id: format!("s{n}"),
    }
}

fn org_with_owner() -> (TestObject, Member) {
    let o = object(ORG);
    o.open_org_schema().unwrap();
    o.org_create(ORG, "Team", &user(1)).unwrap();
    let owner = o.org_membership(&user(1).user_id).unwrap();
    (o, owner)
}

/// Invites `who` with `role` as `by` and has them accept; their membership.
fn join(o: &TestObject, by: &Member, who: &Caller, role: Role) -> Member {
    let (_, token) = o.org_invite(by, &who.email, role).unwrap();
    o.org_accept(&token, who).unwrap();
    o.org_membership(&who.user_id).unwrap()
}

fn events(o: &TestObject) -> Vec<(String, serde_json::Value)> {
    o.take_events()
        .into_iter()
        .map(|e| (e.event, e.data))
        .collect()
}

#[test]
fn the_creator_is_the_only_owner_and_the_feed_says_so() {
    let (o, owner) = org_with_owner();
    assert_eq!(owner.role, Role::Owner);
    let view = o.org_view(&owner).unwrap();
    assert_eq!((view.id.as_str(), view.name.as_str()), (ORG, "Team"));
    assert_eq!(
        events(&o),
        vec![(
            "members".to_owned(),
            serde_json::json!({"op": "add", "userId": user(1).user_id, "role": "owner"})
        )]
    );
    assert!(matches!(
        o.org_create(ORG, "Again", &user(2)),
        Err(Error::Conflict(_))
    ));
    // A non-member and an organization that does not exist look the same: 404.
    assert!(matches!(
        o.org_membership(&user(2).user_id),
        Err(Error::NotFound(_))
    ));
    let empty = object(ORG);
    empty.open_org_schema().unwrap();
    assert!(matches!(
        empty.org_membership(&user(1).user_id),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn names_are_1_to_100_characters_trimmed() {
    assert_eq!(org::check_name(Some("  Team  ")).unwrap(), "Team");
    assert_eq!(
        org::check_name(Some(&"é".repeat(100)))
            .unwrap()
            .chars()
            .count(),
        100
    );
    for bad in [None, Some(""), Some("   "), Some("a\u{0}b")] {
        assert!(matches!(org::check_name(bad), Err(Error::Validation(_))));
    }
    assert!(org::check_name(Some(&"é".repeat(101))).is_err());
}

#[test]
fn roles_rank_owner_over_admin_over_member() {
    assert!(Role::Owner.at_least(Role::Admin));
    assert!(Role::Admin.at_least(Role::Admin));
    assert!(Role::Admin.at_least(Role::Member));
    assert!(!Role::Member.at_least(Role::Admin));
    assert!(!Role::Admin.at_least(Role::Owner));
}

#[test]
fn admins_manage_roles_and_only_the_owner_transfers_ownership() {
    let (o, owner) = org_with_owner();
    let admin = join(&o, &owner, &user(2), Role::Admin);
    let member = join(&o, &owner, &user(3), Role::Member);
    events(&o);
    // A member changes nobody's role.
    assert!(matches!(
        o.org_set_role(&member, &user(3).user_id, Role::Admin),
        Err(Error::Forbidden(_))
    ));
    // An admin makes a member an admin and back; an unknown member is 404.
    let promoted = o
        .org_set_role(&admin, &user(3).user_id, Role::Admin)
        .unwrap();
    assert_eq!(promoted.role, Role::Admin);
    let member = o
        .org_set_role(&admin, &user(3).user_id, Role::Member)
        .unwrap();
    assert_eq!(member.role, Role::Member);
    assert!(matches!(
        o.org_set_role(&admin, &user(9).user_id, Role::Admin),
        Err(Error::NotFound(_))
    ));
    // An admin neither transfers ownership nor touches the owner.
    assert!(matches!(
        o.org_set_role(&admin, &user(2).user_id, Role::Owner),
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        o.org_set_role(&admin, &user(1).user_id, Role::Member),
        Err(Error::Forbidden(_))
    ));
    // The owner cannot step down without a successor.
    assert!(matches!(
        o.org_set_role(&owner, &user(1).user_id, Role::Admin),
        Err(Error::Conflict(_))
    ));
    events(&o);
    // The transfer: the new owner, and the old one an admin, in two events.
    let new_owner = o
        .org_set_role(&owner, &user(3).user_id, Role::Owner)
        .unwrap();
    assert_eq!(new_owner.role, Role::Owner);
    let roles: Vec<(String, Role)> = o
        .org_members()
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        roles,
        vec![
            (user(1).user_id, Role::Admin),
            (user(2).user_id, Role::Admin),
            (user(3).user_id, Role::Owner),
        ]
    );
    let seen = events(&o);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1["role"], "admin");
    assert_eq!(seen[1].1["role"], "owner");
}

#[test]
fn nobody_removes_the_owner_and_the_owner_cannot_leave() {
    let (o, owner) = org_with_owner();
    let admin = join(&o, &owner, &user(2), Role::Admin);
    let member = join(&o, &owner, &user(3), Role::Member);
    let other = join(&o, &owner, &user(4), Role::Member);
    assert!(matches!(
        o.org_remove(&owner, &user(1).user_id),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        o.org_remove(&admin, &user(1).user_id),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        o.org_remove(&member, &user(4).user_id),
        Err(Error::Forbidden(_))
    ));
    events(&o);
    // A member leaves; an admin removes another.
    o.org_remove(&other, &user(4).user_id).unwrap();
    o.org_remove(&admin, &user(3).user_id).unwrap();
    assert!(o.org_membership(&user(3).user_id).is_err());
    assert!(o.org_membership(&user(4).user_id).is_err());
    let seen = events(&o);
    assert_eq!(
        seen.iter()
            .map(|(_, d)| d["op"].clone())
            .collect::<Vec<_>>(),
        vec!["remove", "remove"]
    );
    assert!(seen.iter().all(|(_, d)| d.get("role").is_none()));
    let _ = member;
}

#[test]
fn invitation_tokens_are_stored_hashed_bound_to_the_email_and_single_use() {
    let (o, owner) = org_with_owner();
    let (invitation, token) = o
        .org_invite(&owner, " User2@Example.COM ", Role::Admin)
        .unwrap();
    assert_eq!(invitation.email, "user2@example.com");
    assert_eq!(
        invitation.expires_at - invitation.created_at,
        INVITATION_TTL_MS
    );
    assert_eq!(org::invitation_org(&token), Some(ORG));
    // Only the hash is kept.
    let stored = o
        .store()
        .query("SELECT token_hash FROM _userdo_invitations", &[])
        .unwrap();
    assert_eq!(stored[0].text(0).unwrap(), crate::token::hash_token(&token));
    // Another user may not use it, and it stays usable.
    assert!(matches!(
        o.org_accept(&token, &user(3)),
        Err(Error::Forbidden(_))
    ));
    let view = o.org_accept(&token, &user(2)).unwrap();
    assert_eq!(view.role, Role::Admin);
    assert!(matches!(
        o.org_accept(&token, &user(2)),
        Err(Error::InvalidToken)
    ));
    assert!(o.org_invitations().unwrap().is_empty());
    // Inviting a member is a conflict.
    assert!(matches!(
        o.org_invite(&owner, "user2@example.com", Role::Member),
        Err(Error::Conflict(_))
    ));
    // A member does not invite.
    let member = join(&o, &owner, &user(4), Role::Member);
    assert!(matches!(
        o.org_invite(&member, "x@example.com", Role::Member),
        Err(Error::Forbidden(_))
    ));
    // Forged and foreign tokens.
    for bad in [
        "nonsense",
        &token.replace(ORG, "ffffffffffffffffffffffffffffffff"),
    ] {
        assert!(matches!(
            o.org_accept(bad, &user(5)),
            Err(Error::InvalidToken)
        ));
    }
}

#[test]
fn revoked_replaced_and_expired_invitations_stop_working() {
    let (o, owner) = org_with_owner();
    let (first, old) = o.org_invite(&owner, &user(2).email, Role::Member).unwrap();
    let (_, new) = o.org_invite(&owner, &user(2).email, Role::Member).unwrap();
    // Re-inviting replaces: one pending invitation, the old token dead.
    assert_eq!(o.org_invitations().unwrap().len(), 1);
    assert!(matches!(
        o.org_accept(&old, &user(2)),
        Err(Error::InvalidToken)
    ));
    let pending = o.org_invitations().unwrap().remove(0);
    assert_ne!(pending.id, first.id);
    o.org_revoke_invitation(&pending.id).unwrap();
    assert!(matches!(
        o.org_accept(&new, &user(2)),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        o.org_revoke_invitation(&pending.id),
        Err(Error::NotFound(_))
    ));
    let (_, late) = o.org_invite(&owner, &user(3).email, Role::Member).unwrap();
    advance(&o, INVITATION_TTL_MS + 1);
    assert!(o.org_invitations().unwrap().is_empty());
    assert!(matches!(
        o.org_accept(&late, &user(3)),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn an_organization_sends_at_most_50_invitations_a_day() {
    let (o, owner) = org_with_owner();
    for i in 0..INVITATIONS_PER_DAY {
        o.org_invite(&owner, &format!("x{i}@example.com"), Role::Member)
            .unwrap();
    }
    match o.org_invite(&owner, "late@example.com", Role::Member) {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!((1..=24 * 3600).contains(&retry_after_secs));
        }
        other => panic!("{other:?}"),
    }
    advance(&o, 24 * 60 * 60 * 1000 + 1);
    o.org_invite(&owner, "late@example.com", Role::Member)
        .unwrap();
}

#[test]
fn deleting_an_account_leaves_or_deletes_or_is_refused() {
    let (o, owner) = org_with_owner();
    // Alone: the organization goes with the account.
    assert_eq!(
        o.org_depart(&user(1).user_id, false).unwrap(),
        Departure::DeleteOrg
    );
    join(&o, &owner, &user(2), Role::Member);
    // The owner of an organization with other members is refused, and nothing changes.
    assert!(matches!(
        o.org_depart(&user(1).user_id, true),
        Err(Error::Conflict(_))
    ));
    assert_eq!(o.org_members().unwrap().len(), 2);
    // A member leaves; only with `apply`.
    assert_eq!(
        o.org_depart(&user(2).user_id, false).unwrap(),
        Departure::Left
    );
    assert!(o.org_membership(&user(2).user_id).is_ok());
    assert_eq!(
        o.org_depart(&user(2).user_id, true).unwrap(),
        Departure::Left
    );
    assert!(o.org_membership(&user(2).user_id).is_err());
    assert_eq!(
        o.org_depart(&user(2).user_id, true).unwrap(),
        Departure::NotMember
    );
}

#[test]
fn the_users_index_holds_at_most_100_organizations() {
    let u = object(&user(1).user_id);
    for i in 0..MAX_ORGS_PER_USER {
        u.org_index_add(&format!("{i:032x}")).unwrap();
    }
    // Adding one it holds is not a new one.
    u.org_index_add(&format!("{:032x}", 0)).unwrap();
    assert!(matches!(
        u.org_index_add(&format!("{:032x}", 1000)),
        Err(Error::Conflict(_))
    ));
    u.org_index_remove(&format!("{:032x}", 0)).unwrap();
    u.org_index_add(&format!("{:032x}", 1000)).unwrap();
    let index = u.org_index().unwrap();
    assert_eq!(index.len() as i64, MAX_ORGS_PER_USER);
    assert!(!index.contains(&format!("{:032x}", 0)));
}
