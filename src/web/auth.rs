//! Staff sign-in and the `Staff` extractor every staff route takes: a
//! bearer token in, the signed-in [`Actor`] out, or a 401.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::problem::ApiError;
use super::rate_limit::Bucket;
use crate::domain::staff::{Actor, ApiClient, Permission};
use crate::domain::time::to_vietnam_rfc3339;
use crate::services::auth;

/// The signed-in staff member of a request.
pub struct Staff {
    pub actor: Actor,
    token: String,
}

impl Staff {
    /// The one place a handler asks for permission: 403 unless the
    /// actor's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<&Actor, ApiError> {
        require(&self.actor, permission)
    }
}

/// 403 unless `actor`'s role grants `permission` (the API's and the
/// staff pages' one check).
pub(super) fn require(actor: &Actor, permission: Permission) -> Result<&Actor, ApiError> {
    if actor.may(permission) {
        Ok(actor)
    } else {
        tracing::info!(staff = %actor.staff_id, ?permission, "permission denied");
        Err(ApiError::forbidden())
    }
}

pub(super) fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Err(ApiError::unauthorized());
            };
            let actor = auth::authenticate(&state.store, &token, Utc::now()).await?;
            Ok(Staff { actor, token })
        })
    }
}

/// Staff, or an integration with an API key (`Bearer pakn_ak_…`).
pub enum Caller {
    Staff(Staff),
    Integration(ApiClient),
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = bearer(req);
        if token.as_deref().is_some_and(|t| t.starts_with("pakn_ak_")) {
            let state = req.app_data::<web::Data<AppState>>().cloned();
            return Box::pin(async move {
                let (Some(token), Some(state)) = (token, state) else {
                    return Err(ApiError::unauthorized());
                };
                Ok(Caller::Integration(
                    auth::authenticate_api_key(&state.store, &token).await?,
                ))
            });
        }
        let staff = Staff::from_request(req, payload);
        Box::pin(async move { Ok(Caller::Staff(staff.await?)) })
    }
}

/// An integration on a public route: none without an `Authorization`
/// header; a header that is not a valid API key is refused (401).
pub struct OptionalIntegration(pub Option<ApiClient>);

impl FromRequest for OptionalIntegration {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let present = req.headers().contains_key(header::AUTHORIZATION);
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            if !present {
                return Ok(OptionalIntegration(None));
            }
            let (Some(token), Some(state)) = (token, state) else {
                return Err(ApiError::unauthorized());
            };
            Ok(OptionalIntegration(Some(
                auth::authenticate_api_key(&state.store, &token).await?,
            )))
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

fn user_json(actor: &Actor, agency_code: Option<String>) -> serde_json::Value {
    serde_json::json!({
        "username": actor.username,
        "display_name": actor.display_name,
        "role": actor.role.as_str(),
        "role_label": actor.role.label_vi(),
        "agency_code": agency_code,
    })
}

async fn agency_code(state: &AppState, actor: &Actor) -> Result<Option<String>, ApiError> {
    Ok(state
        .store
        .find_agency_by_id(actor.agency)
        .await?
        .map(|a| a.code))
}

/// `POST /api/v1/auth/login`
pub async fn login(
    req: HttpRequest,
    body: web::Json<LoginBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Login, &req)?;
    let body = body.into_inner();
    let signed_in = auth::login(
        &state.store,
        &state.settings,
        &body.username,
        &body.password,
        Utc::now(),
    )
    .await?;
    let code = agency_code(&state, &signed_in.actor).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(serde_json::json!({
            "token": signed_in.token,
            "token_type": "Bearer",
            "expires_at": to_vietnam_rfc3339(signed_in.expires_at),
            "user": user_json(&signed_in.actor, code),
        })))
}

/// `POST /api/v1/auth/logout`: revokes the token used.
pub async fn logout(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::OwnSession)?;
    auth::logout(&state.store, &staff.token, Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/auth/me`
pub async fn me(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::OwnSession)?;
    let code = agency_code(&state, actor).await?;
    let mut user = user_json(actor, code);
    user["permissions"] = serde_json::json!(
        Permission::ALL
            .iter()
            .filter(|p| actor.may(**p))
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
    );
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(user))
}
