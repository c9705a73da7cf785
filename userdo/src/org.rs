//! Organizations (teams): one object per organization holds its name, its members with their
//! roles and its pending invitations, beside the application's organization tables and its own
//! change feed (the same [`UserDo`] core as a user's data, opened under the organization's id).
//!
//! The organization's object is the authority on membership: every call names its caller (a
//! user whose session their own object has just confirmed), and the checks here decide. A user's
//! object keeps an index of the organizations the user belongs to ([`UserDo::org_index`]), only
//! to list them; the organization confirms each entry when it is read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::UserDo;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::store::{Row, Statement, Store, Value};
use crate::{email, migrate, schema, token};

/// The most members an organization has.
pub const MAX_MEMBERS: i64 = 1000;
/// The most pending invitations an organization has.
pub const MAX_PENDING_INVITATIONS: i64 = 100;
/// The most invitations an organization sends in 24 hours.
pub const INVITATIONS_PER_DAY: i64 = 50;
/// The most organizations a user belongs to.
pub const MAX_ORGS_PER_USER: i64 = 100;
/// How long an invitation is valid (7 days).
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The longest organization name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The event of a membership change in the organization's feed.
pub const MEMBERS_EVENT: &str = "members";

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The prefix of an invitation token: `uoi.{org id}.{secret}`.
const INVITATION_PREFIX: &str = "uoi";

/// A member's role, highest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Exactly one per organization: deletes it and transfers ownership.
    Owner,
    /// Manages members and invitations.
    Admin,
    /// Reads and writes what the organization's tables allow members.
    Member,
}

impl Role {
    /// Whether this role is `lowest` or higher.
    pub fn at_least(self, lowest: Role) -> bool {
        // Declared highest first: a smaller variant is a higher role.
        self <= lowest
    }

    /// The role's name, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// Who calls the organization: a user whose session their own object confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The user's (normalised) email.
    pub email: String,
    /// The session the call came from (empty for the framework's own steps).
    #[serde(default)]
    pub session_id: String,
}

/// A member: `{userId, email, role, joinedAt}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// Their role.
    pub role: Role,
    /// When they joined, in milliseconds since the Unix epoch.
    pub joined_at: i64,
}

/// The organization as a caller sees it: `{id, name, createdAt, role}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    /// 32 hex characters.
    pub id: String,
    /// 1 to 100 characters.
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The caller's role.
    pub role: Role,
}

/// A pending invitation: `{id, email, role, createdAt, expiresAt}` (its token goes by mail only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// The invitation's id.
    pub id: String,
    /// The invited (normalised) email.
    pub email: String,
    /// The role it gives: `admin` or `member`.
    pub role: Role,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch; 7 days after `createdAt`.
    pub expires_at: i64,
}

/// What deleting an account does to one of the user's organizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Departure {
    /// The user was not (or no longer) a member.
    NotMember,
    /// The user left.
    Left,
    /// The user was its only member: the organization is to be deleted with the account.
    DeleteOrg,
}

/// The `data` of a `members` event: `{op, userId, role?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembersChange {
    /// `add`, `update` or `remove`.
    pub op: MembersOp,
    /// The member's user id.
    pub user_id: String,
    /// The member's role (for `add` and `update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// What happened to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MembersOp {
    /// Joined.
    Add,
    /// Their role changed.
    Update,
    /// Left or was removed.
    Remove,
}

/// Checks and trims an organization name: 1 to [`MAX_NAME_CHARS`] characters.
pub fn check_name(name: Option<&str>) -> Result<String> {
    let name = name.unwrap_or_default().trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "must be 1 to 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Whether `s` has the shape of an organization id (32 lowercase hex digits).
pub fn is_org_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The organization an invitation token names, if it has the shape of one. Routing only: the
/// token is proven by its hash in the organization's object.
pub fn invitation_org(token: &str) -> Option<&str> {
    let mut parts = token.splitn(3, '.');
    let (prefix, org, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = prefix == INVITATION_PREFIX
        && is_org_id(org)
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(org)
}

fn not_found() -> Error {
    Error::NotFound("no such organization".into())
}

fn member_of(row: &Row) -> Result<Member> {
    Ok(Member {
        user_id: row.text(0)?.to_owned(),
        email: row.text(1)?.to_owned(),
        role: Role::parse(row.text(2)?).ok_or_else(|| Error::internal("a stored role"))?,
        joined_at: row.int(3)?,
    })
}

fn invitation_of(row: &Row) -> Result<Invitation> {
    Ok(Invitation {
        id: row.text(0)?.to_owned(),
        email: row.text(1)?.to_owned(),
        role: Role::parse(row.text(2)?).ok_or_else(|| Error::internal("a stored role"))?,
        created_at: row.int(3)?,
        expires_at: row.int(4)?,
    })
}

const MEMBER_COLUMNS: &str = "user_id, email, role, joined_at";
const INVITATION_COLUMNS: &str = "id, email, role, created_at, expires_at";

/// The organization's own part of its object: membership. Table rows and the feed are the
/// [`UserDo`] core's, as for a user.
impl<S: Store, P: Platform> UserDo<S, P> {
    /// Applies the organization schema (its object calls this once, after opening the core).
    pub fn open_org_schema(&self) -> Result<()> {
        migrate::migrate(
            &self.store,
            schema::ORG_NAMESPACE,
            schema::ORG_MIGRATIONS,
            self.platform.now_ms(),
        )?;
        Ok(())
    }

    fn org_row(&self) -> Result<Option<(String, String, i64)>> {
        let rows = self.store.query(
            "SELECT org_id, name, created_at FROM _userdo_org WHERE singleton = 1",
            &[],
        )?;
        rows.first()
            .map(|r| Ok((r.text(0)?.to_owned(), r.text(1)?.to_owned(), r.int(2)?)))
            .transpose()
    }

    /// Creates the organization `id` named `name`, with `owner` its owner. An organization that
    /// exists already is a conflict.
    pub fn org_create(&self, id: &str, name: &str, owner: &Caller) -> Result<OrgView> {
        let name = check_name(Some(name))?;
        if self.org_row()?.is_some() {
            return Err(Error::Conflict("this organization exists already".into()));
        }
        let now = self.platform.now_ms();
        let change = MembersChange {
            op: MembersOp::Add,
            user_id: owner.user_id.clone(),
            role: Some(Role::Owner),
        };
        self.write_with_event(
            vec![
                Statement::new(
                    "INSERT INTO _userdo_org (singleton, org_id, name, created_at) VALUES (1, ?, ?, ?)",
                    vec![id.into(), name.as_str().into(), Value::Integer(now)],
                ),
                Statement::new(
                    "INSERT INTO _userdo_members (user_id, email, role, joined_at) VALUES (?, ?, 'owner', ?)",
                    vec![
                        owner.user_id.as_str().into(),
                        owner.email.as_str().into(),
                        Value::Integer(now),
                    ],
                ),
            ],
            MEMBERS_EVENT.to_owned(),
            serde_json::to_value(&change).unwrap_or_default(),
        )?;
        Ok(OrgView {
            id: id.to_owned(),
            name,
            created_at: now,
            role: Role::Owner,
        })
    }

    /// Whether the organization exists (it was created and not deleted).
    pub fn org_exists(&self) -> Result<bool> {
        Ok(self.org_row()?.is_some())
    }

    /// The caller's membership: 404 when the organization does not exist or the caller is not a
    /// member (a non-member learns nothing of it).
    pub fn org_membership(&self, user_id: &str) -> Result<Member> {
        if self.org_row()?.is_none() {
            return Err(not_found());
        }
        self.member(user_id)?.ok_or_else(not_found)
    }

    /// The caller's membership, and 403 unless their role is `lowest` or higher.
    pub fn org_require(&self, user_id: &str, lowest: Role) -> Result<Member> {
        let member = self.org_membership(user_id)?;
        if !member.role.at_least(lowest) {
            return Err(Error::Forbidden(format!(
                "this needs the role {} or higher",
                lowest.as_str()
            )));
        }
        Ok(member)
    }

    fn member(&self, user_id: &str) -> Result<Option<Member>> {
        let rows = self.store.query(
            &format!("SELECT {MEMBER_COLUMNS} FROM _userdo_members WHERE user_id = ?"),
            &[user_id.into()],
        )?;
        rows.first().map(member_of).transpose()
    }

    /// The organization as `member` sees it.
    pub fn org_view(&self, member: &Member) -> Result<OrgView> {
        let (id, name, created_at) = self.org_row()?.ok_or_else(not_found)?;
        Ok(OrgView {
            id,
            name,
            created_at,
            role: member.role,
        })
    }

    /// Renames the organization.
    pub fn org_rename(&self, member: &Member, name: Option<&str>) -> Result<OrgView> {
        let name = check_name(name)?;
        self.store.execute(
            "UPDATE _userdo_org SET name = ? WHERE singleton = 1",
            &[name.as_str().into()],
        )?;
        self.org_view(member)
    }

    /// Every member, in the order they joined.
    pub fn org_members(&self) -> Result<Vec<Member>> {
        self.store
            .query(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM _userdo_members ORDER BY joined_at, user_id"
                ),
                &[],
            )?
            .iter()
            .map(member_of)
            .collect()
    }

    /// The ids of every member.
    pub fn org_member_ids(&self) -> Result<Vec<String>> {
        self.store
            .query("SELECT user_id FROM _userdo_members", &[])?
            .iter()
            .map(|r| Ok(r.text(0)?.to_owned()))
            .collect()
    }

    /// `actor` gives `target` the role `role`. An admin makes members admins and admins members;
    /// only the owner gives `owner`, which transfers ownership (the old owner becomes an admin).
    /// Returns the changed member.
    pub fn org_set_role(&self, actor: &Member, target: &str, role: Role) -> Result<Member> {
        if !actor.role.at_least(Role::Admin) {
            return Err(Error::Forbidden("only an admin changes roles".into()));
        }
        let current = self
            .member(target)?
            .ok_or_else(|| Error::NotFound("no such member".into()))?;
        if role == Role::Owner {
            if actor.role != Role::Owner {
                return Err(Error::Forbidden(
                    "only the owner transfers ownership".into(),
                ));
            }
            if current.user_id == actor.user_id {
                return Ok(current);
            }
            // Two changes, two events, in one transaction: never an organization without an
            // owner, nor one with two.
            let change = |user_id: &str, role: Role, sql: &'static str| {
                let data = MembersChange {
                    op: MembersOp::Update,
                    user_id: user_id.to_owned(),
                    role: Some(role),
                };
                let statement = Statement::new(sql, vec![user_id.into()]);
                self.write_with_event(
                    vec![statement],
                    MEMBERS_EVENT.to_owned(),
                    serde_json::to_value(&data).unwrap_or_default(),
                )
            };
            let queued = self.emitted.queued_from_here();
            let mut failure = None;
            let committed = self.store.transaction(&mut || {
                let result = change(
                    &actor.user_id,
                    Role::Admin,
                    "UPDATE _userdo_members SET role = 'admin' WHERE user_id = ? AND role = 'owner'",
                )
                .and_then(|_| {
                    change(
                        target,
                        Role::Owner,
                        "UPDATE _userdo_members SET role = 'owner' WHERE user_id = ?",
                    )
                });
                result.map_err(|e| failure = Some(e)).is_ok()
            })?;
            if !committed {
                drop(queued);
                return Err(failure
                    .unwrap_or_else(|| Error::internal("the ownership transfer did not commit")));
            }
            queued.keep();
            return self
                .member(target)?
                .ok_or_else(|| Error::internal("the new owner is gone"));
        }
        if current.role == Role::Owner {
            return Err(if actor.role == Role::Owner {
                Error::Conflict(
                    "the owner keeps the role owner until ownership is transferred".into(),
                )
            } else {
                Error::Forbidden("only the owner changes the owner's role".into())
            });
        }
        if current.role == role {
            return Ok(current);
        }
        let change = MembersChange {
            op: MembersOp::Update,
            user_id: target.to_owned(),
            role: Some(role),
        };
        let (rows, _) = self.write_with_event(
            vec![Statement::new(
                format!(
                    "UPDATE _userdo_members SET role = ? WHERE user_id = ? AND role <> 'owner' RETURNING {MEMBER_COLUMNS}"
                ),
                vec![role.as_str().into(), target.into()],
            )],
            MEMBERS_EVENT.to_owned(),
            serde_json::to_value(&change).unwrap_or_default(),
        )?;
        rows.first()
            .and_then(|r| r.first())
            .map(member_of)
            .transpose()?
            .ok_or_else(|| Error::internal("the member changed under us"))
    }

    /// `actor` removes `target` (themselves: leaving). Admins remove anyone but the owner; a
    /// member only leaves; the owner cannot leave before transferring ownership (409).
    pub fn org_remove(&self, actor: &Member, target: &str) -> Result<()> {
        let leaving = actor.user_id == target;
        if !leaving && !actor.role.at_least(Role::Admin) {
            return Err(Error::Forbidden("only an admin removes members".into()));
        }
        let current = self
            .member(target)?
            .ok_or_else(|| Error::NotFound("no such member".into()))?;
        if current.role == Role::Owner {
            return Err(Error::Conflict(if leaving {
                "the owner cannot leave: transfer ownership first".into()
            } else {
                "nobody removes the owner".into()
            }));
        }
        self.remove_member(target)
    }

    fn remove_member(&self, target: &str) -> Result<()> {
        let change = MembersChange {
            op: MembersOp::Remove,
            user_id: target.to_owned(),
            role: None,
        };
        self.write_with_event(
            vec![Statement::new(
                "DELETE FROM _userdo_members WHERE user_id = ?",
                vec![target.into()],
            )],
            MEMBERS_EVENT.to_owned(),
            serde_json::to_value(&change).unwrap_or_default(),
        )?;
        Ok(())
    }

    /// What deleting the account of `user_id` does here: leaves, or (the only member) deletes the
    /// organization; refused (409) while the user owns it and it has other members. With
    /// `apply` false, only checks.
    pub fn org_depart(&self, user_id: &str, apply: bool) -> Result<Departure> {
        if self.org_row()?.is_none() {
            return Ok(Departure::NotMember);
        }
        let Some(member) = self.member(user_id)? else {
            return Ok(Departure::NotMember);
        };
        let members = self.count("SELECT COUNT(*) FROM _userdo_members", &[])?;
        if members <= 1 {
            return Ok(Departure::DeleteOrg);
        }
        if member.role == Role::Owner {
            return Err(Error::Conflict(
                "this account owns an organization with other members: transfer its ownership \
                 or delete it first"
                    .into(),
            ));
        }
        if apply {
            self.remove_member(user_id)?;
        }
        Ok(Departure::Left)
    }

    fn count(&self, sql: &str, params: &[Value]) -> Result<i64> {
        Ok(self
            .store
            .query(sql, params)?
            .first()
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// Invites `raw_email` with `role` (`admin` or `member`): the invitation and its token, which
    /// goes by mail only. Re-inviting an email with a pending invitation replaces it (the old
    /// token stops working). 409 for an email that is already a member, beyond the pending or
    /// member limits; 429 beyond [`INVITATIONS_PER_DAY`].
    pub fn org_invite(
        &self,
        actor: &Member,
        raw_email: &str,
        role: Role,
    ) -> Result<(Invitation, String)> {
        if !actor.role.at_least(Role::Admin) {
            return Err(Error::Forbidden("only an admin invites".into()));
        }
        let (org_id, _, _) = self.org_row()?.ok_or_else(not_found)?;
        let email = email::normalize(raw_email)?;
        let now = self.platform.now_ms();
        if self.count(
            "SELECT COUNT(*) FROM _userdo_members WHERE email = ?",
            &[email.as_str().into()],
        )? > 0
        {
            return Err(Error::Conflict(
                "this email is already a member of the organization".into(),
            ));
        }
        if self.count("SELECT COUNT(*) FROM _userdo_members", &[])? >= MAX_MEMBERS {
            return Err(Error::Conflict(format!(
                "an organization has at most {MAX_MEMBERS} members"
            )));
        }
        let sent_today = self.count(
            "SELECT COUNT(*) FROM _userdo_invitations WHERE created_at > ?",
            &[Value::Integer(now - DAY_MS)],
        )?;
        if sent_today >= INVITATIONS_PER_DAY {
            let oldest = self.count(
                "SELECT MIN(created_at) FROM (SELECT created_at FROM _userdo_invitations \
                 WHERE created_at > ? ORDER BY created_at DESC LIMIT ?)",
                &[
                    Value::Integer(now - DAY_MS),
                    Value::Integer(INVITATIONS_PER_DAY),
                ],
            )?;
            let retry_after_secs = ((oldest + DAY_MS - now) / 1000).max(1);
            return Err(Error::RateLimited {
                retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(1),
            });
        }
        let pending = self.count(
            "SELECT COUNT(*) FROM _userdo_invitations WHERE state = 'pending' AND expires_at > ? AND email <> ?",
            &[Value::Integer(now), email.as_str().into()],
        )?;
        if pending >= MAX_PENDING_INVITATIONS {
            return Err(Error::Conflict(format!(
                "an organization has at most {MAX_PENDING_INVITATIONS} pending invitations"
            )));
        }
        let mut secret = [0u8; 32];
        self.platform.fill_random(&mut secret)?;
        let token = format!(
            "{INVITATION_PREFIX}.{org_id}.{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret)
        );
        let id = token::random_id(&self.platform)?;
        let invitation = Invitation {
            id,
            email,
            role,
            created_at: now,
            expires_at: now + INVITATION_TTL_MS,
        };
        self.store.atomic(vec![
            Statement::new(
                "UPDATE _userdo_invitations SET state = 'replaced' WHERE email = ? AND state = 'pending'",
                vec![invitation.email.as_str().into()],
            ),
            // Old invitations go once they no longer count against the daily limit.
            Statement::new(
                "DELETE FROM _userdo_invitations WHERE state <> 'pending' AND created_at <= ?",
                vec![Value::Integer(now - INVITATION_TTL_MS - DAY_MS)],
            ),
            Statement::new(
                "INSERT INTO _userdo_invitations (id, token_hash, email, role, created_at, expires_at, state) \
                 VALUES (?, ?, ?, ?, ?, ?, 'pending')",
                vec![
                    invitation.id.as_str().into(),
                    token::hash_token(&token).into(),
                    invitation.email.as_str().into(),
                    role.as_str().into(),
                    Value::Integer(invitation.created_at),
                    Value::Integer(invitation.expires_at),
                ],
            ),
        ])?;
        Ok((invitation, token))
    }

    /// The pending (unused, unrevoked, unexpired) invitations, newest first.
    pub fn org_invitations(&self) -> Result<Vec<Invitation>> {
        self.store
            .query(
                &format!(
                    "SELECT {INVITATION_COLUMNS} FROM _userdo_invitations \
                     WHERE state = 'pending' AND expires_at > ? ORDER BY created_at DESC, id"
                ),
                &[Value::Integer(self.platform.now_ms())],
            )?
            .iter()
            .map(invitation_of)
            .collect()
    }

    /// Revokes the pending invitation `id` (404 when there is none).
    pub fn org_revoke_invitation(&self, id: &str) -> Result<()> {
        let rows = self.store.query(
            "UPDATE _userdo_invitations SET state = 'revoked' WHERE id = ? AND state = 'pending' RETURNING id",
            &[id.into()],
        )?;
        if rows.is_empty() {
            return Err(Error::NotFound("no such pending invitation".into()));
        }
        Ok(())
    }

    /// Accepts the invitation `token` as `caller`: they join with the invited role. 401
    /// `invalid_token` for a used, revoked, expired or unknown token; 403 when it names another
    /// email (the token stays usable by its invitee).
    pub fn org_accept(&self, token: &str, caller: &Caller) -> Result<OrgView> {
        let (org_id, _, _) = self.org_row()?.ok_or(Error::InvalidToken)?;
        if invitation_org(token) != Some(org_id.as_str()) {
            return Err(Error::InvalidToken);
        }
        let now = self.platform.now_ms();
        let rows = self.store.query(
            &format!(
                "SELECT {INVITATION_COLUMNS} FROM _userdo_invitations \
                 WHERE token_hash = ? AND state = 'pending' AND expires_at > ?"
            ),
            &[token::hash_token(token).into(), Value::Integer(now)],
        )?;
        let invitation = rows
            .first()
            .map(invitation_of)
            .transpose()?
            .ok_or(Error::InvalidToken)?;
        if invitation.email != caller.email {
            return Err(Error::Forbidden(
                "this invitation is for another email address".into(),
            ));
        }
        if let Some(member) = self.member(&caller.user_id)? {
            // Already in (by an earlier invitation): spend this one, keep the role they have.
            self.store.execute(
                "UPDATE _userdo_invitations SET state = 'used' WHERE id = ?",
                &[invitation.id.as_str().into()],
            )?;
            return self.org_view(&member);
        }
        if self.count("SELECT COUNT(*) FROM _userdo_members", &[])? >= MAX_MEMBERS {
            return Err(Error::Conflict(format!(
                "an organization has at most {MAX_MEMBERS} members"
            )));
        }
        let change = MembersChange {
            op: MembersOp::Add,
            user_id: caller.user_id.clone(),
            role: Some(invitation.role),
        };
        let (rows, _) = self.write_with_event(
            vec![
                Statement::new(
                    "UPDATE _userdo_invitations SET state = 'used' WHERE id = ? AND state = 'pending' RETURNING id",
                    vec![invitation.id.as_str().into()],
                ),
                Statement::new(
                    "INSERT INTO _userdo_members (user_id, email, role, joined_at) VALUES (?, ?, ?, ?)",
                    vec![
                        caller.user_id.as_str().into(),
                        caller.email.as_str().into(),
                        invitation.role.as_str().into(),
                        Value::Integer(now),
                    ],
                ),
            ],
            MEMBERS_EVENT.to_owned(),
            serde_json::to_value(&change).unwrap_or_default(),
        )?;
        if rows.first().is_none_or(Vec::is_empty) {
            return Err(Error::InvalidToken);
        }
        let member = self
            .member(&caller.user_id)?
            .ok_or_else(|| Error::internal("the new member is gone"))?;
        self.org_view(&member)
    }

    /// The organizations in this user's index, oldest first.
    pub fn org_index(&self) -> Result<Vec<String>> {
        self.store
            .query(
                "SELECT org_id FROM _userdo_org_index ORDER BY added_at, org_id",
                &[],
            )?
            .iter()
            .map(|r| Ok(r.text(0)?.to_owned()))
            .collect()
    }

    /// Adds `org` to this user's index before the user joins it (so the index never lacks an
    /// organization the user is in); 409 beyond [`MAX_ORGS_PER_USER`].
    pub fn org_index_add(&self, org: &str) -> Result<()> {
        let rows = self.store.query(
            "SELECT COUNT(*), SUM(org_id = ?) FROM _userdo_org_index",
            &[org.into()],
        )?;
        let (count, present) = rows
            .first()
            .map(|r| Ok::<_, Error>((r.int(0)?, r.int(1).unwrap_or(0))))
            .transpose()?
            .unwrap_or((0, 0));
        if present > 0 {
            return Ok(());
        }
        if count >= MAX_ORGS_PER_USER {
            return Err(Error::Conflict(format!(
                "a user belongs to at most {MAX_ORGS_PER_USER} organizations"
            )));
        }
        self.store.execute(
            "INSERT OR IGNORE INTO _userdo_org_index (org_id, added_at) VALUES (?, ?)",
            &[org.into(), Value::Integer(self.platform.now_ms())],
        )?;
        Ok(())
    }

    /// Drops `org` from this user's index (after the user left it, or it denied them).
    pub fn org_index_remove(&self, org: &str) -> Result<()> {
        self.store.execute(
            "DELETE FROM _userdo_org_index WHERE org_id = ?",
            &[org.into()],
        )?;
        Ok(())
    }
}

/// The body of `POST /api/orgs` and `PATCH /api/orgs/{org}`: `{name}`.
#[derive(Debug, Clone, Deserialize, validator::Validate, JsonSchema)]
pub struct NameRequest {
    /// 1 to 100 characters.
    #[validate(required)]
    #[schemars(with = "String")]
    pub name: Option<String>,
}

/// The body of `PATCH /api/orgs/{org}/members/{userId}`: `{role}`.
#[derive(Debug, Clone, Deserialize, validator::Validate, JsonSchema)]
pub struct RoleRequest {
    /// `owner` (transfers ownership), `admin` or `member`.
    #[validate(required)]
    #[schemars(with = "Role")]
    pub role: Option<String>,
}

/// The body of `POST /api/orgs/{org}/invitations`: `{email, role}`.
#[derive(Debug, Clone, Deserialize, validator::Validate, JsonSchema)]
pub struct InviteRequest {
    /// Whom to invite.
    #[validate(required)]
    #[schemars(with = "String")]
    pub email: Option<String>,
    /// `admin` or `member`.
    #[validate(required)]
    #[schemars(with = "InvitedRole")]
    pub role: Option<String>,
}

/// The roles an invitation gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitedRole {
    /// An admin.
    Admin,
    /// A member.
    Member,
}

/// The body of `POST /api/invitations/accept`: `{token}`.
#[derive(Debug, Clone, Deserialize, validator::Validate, JsonSchema)]
pub struct AcceptRequest {
    /// The token from the invitation's mail.
    #[validate(required)]
    #[schemars(with = "String")]
    pub token: Option<String>,
}
