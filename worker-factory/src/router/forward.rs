//! The worker's side of the hop: the stub of a user's object, the request that carries a
//! [`Hop`], and the auth cookies set or cleared on the object's answer.

use serde::Deserialize;
use userdo::{Error, Result, Settings, email, token};
use worker::{ObjectNamespace, Response, Stub};

use super::parse::Target;
use crate::hop::Hop;
use crate::http::{REFRESH_COOKIE, TOKEN_COOKIE, json_text, mutable, set_cookie};

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

/// The tokens of a signup, login or refresh answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tokens {
    token: String,
    refresh_token: String,
}

/// Sets the `token` and `refreshToken` cookies on a successful signup, login or refresh; the
/// body goes on unchanged.
pub(super) async fn with_auth_cookies(
    response: Response,
    settings: &Settings,
    secure: bool,
) -> Result<Response> {
    let status = response.status_code();
    if !(200..300).contains(&status) {
        return Ok(mutable(response)?);
    }
    let text = crate::http::body_text(response).await?;
    let tokens: Tokens = serde_json::from_str(&text)
        .map_err(|e| Error::internal_from("auth answer without tokens", e))?;
    let out = json_text(status, text)?;
    let h = out.headers();
    h.append(
        "set-cookie",
        &set_cookie(
            TOKEN_COOKIE,
            &tokens.token,
            settings.access_ttl_secs,
            secure,
        ),
    )?;
    h.append(
        "set-cookie",
        &set_cookie(
            REFRESH_COOKIE,
            &tokens.refresh_token,
            settings.refresh_ttl_secs,
            secure,
        ),
    )?;
    Ok(out)
}

/// Clears both auth cookies when the session is gone: on a success, and with `on_401` on a 401
/// too (logout: no live session either way). Any other answer keeps them.
pub(super) fn clear_auth_cookies(
    response: Response,
    secure: bool,
    on_401: bool,
) -> Result<Response> {
    let response = mutable(response)?;
    let status = response.status_code();
    if (200..300).contains(&status) || (on_401 && status == 401) {
        let h = response.headers();
        for name in [TOKEN_COOKIE, REFRESH_COOKIE] {
            h.append("set-cookie", &set_cookie(name, "", 0, secure))?;
        }
    }
    Ok(response)
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
        cors: None,
        call: crate::hop::Call::Mail { mail },
    };
    match send(&stub, &hop, false).await {
        Ok(r) if r.status_code() == 202 => {}
        Ok(r) => worker::console_error!("userdo: invitation mail not sent ({})", r.status_code()),
        Err(e) => worker::console_error!("userdo: invitation mail not sent: {e}"),
    }
    crate::http::respond(201, &crate::responses::InvitationBody { invitation })
}
