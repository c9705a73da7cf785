//! The worker's side of the hop: the stub of a user's object, the request that carries a
//! [`Hop`], and the mail of a new invitation.

use serde::Deserialize;
use userdo::{Error, Result, email, token};
use worker::{ObjectNamespace, Response, Stub};

use super::parse::Target;
use crate::hop::Hop;

/// The stub of the object a call goes to. A user id that is not one (a forged token's) is 401.
pub(super) fn stub(namespace: &ObjectNamespace, target: &Target) -> Result<Stub> {
    match target {
        Target::Email(normalized) => Ok(namespace
            .id_from_name(&email::object_name(normalized))?
            .get_stub()?),
        Target::User(user_id) => {
            if !token::is_user_id(user_id) {
                return Err(Error::InvalidToken);
            }
            namespace
                .id_from_string(user_id)
                .and_then(|id| id.get_stub())
                .map_err(|_| Error::InvalidToken)
        }
    }
}

/// The id of the user's object a call goes to, as rate limits name the account: for an email,
/// the id it names whether or not it has an account.
pub(super) fn account_id(namespace: &ObjectNamespace, target: &Target) -> Result<String> {
    match target {
        Target::Email(normalized) => Ok(namespace
            .id_from_name(&email::object_name(normalized))?
            .to_string()),
        Target::User(user_id) => Ok(user_id.clone()),
    }
}

/// Sends `hop` to the object.
pub(crate) async fn send(stub: &Stub, hop: &Hop, websocket: bool) -> Result<Response> {
    crate::hop::send(stub, hop, websocket).await
}

/// What an organization answers to a new invitation, before the worker mails it.
#[derive(Deserialize)]
struct NewInvitation {
    invitation: userdo::org::Invitation,
    mail: userdo::mail::Mail,
}

/// Sends the invitation's mail from the invitee's own object (its dev outbox in development,
/// else the mail webhook) and answers `{invitation}`: the token goes by mail only. A delivery
/// failure is logged, as for the other mail.
pub(super) async fn send_invitation(
    namespace: &ObjectNamespace,
    mut response: Response,
) -> Result<Response> {
    let answer: NewInvitation = response
        .json()
        .await
        .map_err(|e| Error::internal_from("an invitation answer", e))?;
    let NewInvitation { invitation, mail } = answer;
    let stub = stub(namespace, &Target::Email(invitation.email.clone()))?;
    let hop = Hop {
        orgs: None,
        caller: None,
        user_agent: String::new(),
        failures: None,
        finish: None,
        call: crate::hop::Call::Mail { mail },
    };
    match send(&stub, &hop, false).await {
        Ok(r) if r.status_code() == 202 => {}
        Ok(r) => worker::console_error!("userdo: invitation mail not sent ({})", r.status_code()),
        Err(e) => worker::console_error!("userdo: invitation mail not sent: {e}"),
    }
    crate::http::respond(201, &crate::responses::InvitationBody { invitation })
}
