//! Bearer-token authentication: JWTs signed with HS256 (a shared secret), RS256 or
//! ES256 (configured public keys).
//!
//! The algorithm a token names only selects among keys configured for that algorithm;
//! a key is never used with another algorithm's family, so an RS256 public key can not
//! be used as an HS256 secret ("algorithm confusion"), and `alg: none` is not an
//! algorithm the decoder knows. `exp` is required; `nbf`, `iss` and `aud` are checked
//! (the last two when configured).

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::config::JwtSettings;
use super::error::ApiError;

/// What a verified token grants.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant: String,
    pub subject: Option<String>,
    /// Rate limits are per token: this is a hash of it.
    pub token_key: u64,
}

#[derive(Debug, Deserialize)]
struct Claims {
    tenant: Option<String>,
    sub: Option<String>,
    exp: Option<u64>,
    iat: Option<u64>,
}

pub struct Verifier {
    hmac: Option<DecodingKey>,
    rsa: Vec<DecodingKey>,
    ec: Vec<DecodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
    /// The longest lifetime (`exp - iat`) a token may have; with one set, `iat` is
    /// required.
    max_age: Option<u64>,
}

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY: u64 = 5;

impl Verifier {
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Verifier> {
        let mut rsa = Vec::new();
        let mut ec = Vec::new();
        for path in &settings.public_keys {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("cannot read the public key {}: {e}", path.display())
            })?;
            if let Ok(k) = DecodingKey::from_rsa_pem(&pem) {
                rsa.push(k);
            } else if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
                ec.push(k);
            } else {
                anyhow::bail!(
                    "{} is neither an RSA nor an EC public key in PEM form",
                    path.display()
                );
            }
        }
        Ok(Verifier {
            hmac: settings.secret.as_deref().map(DecodingKey::from_secret),
            rsa,
            ec,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            max_age: settings.max_age,
        })
    }

    /// Checks an `Authorization` header's value.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Identity, ApiError> {
        let Some(header) = header else {
            return Err(ApiError::unauthorized(
                "missing Authorization header (expected `Bearer <JWT>`)",
            ));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not `Bearer <JWT>`")
            })?;
        self.verify(token)
    }

    pub fn verify(&self, token: &str) -> Result<Identity, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            ApiError::unauthorized(match e.kind() {
                ErrorKind::InvalidAlgorithmName | ErrorKind::Json(_) => {
                    "the token's header is invalid or names an algorithm not accepted \
                     (HS256, RS256, ES256)"
                        .to_string()
                }
                _ => format!("malformed token: {e}"),
            })
        })?;
        let keys: Vec<&DecodingKey> = match header.alg {
            Algorithm::HS256 => self.hmac.iter().collect(),
            Algorithm::RS256 => self.rsa.iter().collect(),
            Algorithm::ES256 => self.ec.iter().collect(),
            other => {
                return Err(ApiError::unauthorized(format!(
                    "algorithm {other:?} is not accepted (HS256, RS256, ES256)"
                )));
            }
        };
        if keys.is_empty() {
            return Err(ApiError::unauthorized(format!(
                "no key is configured for {:?} tokens",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                validation.required_spec_claims.insert("iss".into());
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.required_spec_claims.insert("aud".into());
            }
            None => validation.validate_aud = false,
        }
        let mut last = None;
        for key in keys {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    self.check_age(&data.claims)?;
                    return identity(token, data.claims);
                }
                // Another configured key may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => last = Some(e),
                Err(e) => return Err(ApiError::unauthorized(describe(&e))),
            }
        }
        Err(ApiError::unauthorized(describe(
            &last.expect("at least one key was tried"),
        )))
    }
}

impl Verifier {
    /// With a maximum age, a token must say when it was issued, and live no longer
    /// than that: a leaked long-lived token is refused however far off its `exp` is.
    fn check_age(&self, claims: &Claims) -> Result<(), ApiError> {
        let Some(max_age) = self.max_age else {
            return Ok(());
        };
        let Some(iat) = claims.iat else {
            return Err(ApiError::unauthorized(
                "the token has no `iat` claim, which this server requires (--jwt-max-age)",
            ));
        };
        let exp = claims.exp.unwrap_or(u64::MAX);
        if exp.saturating_sub(iat) > max_age {
            return Err(ApiError::unauthorized(format!(
                "the token lives longer than this server accepts ({max_age} s from `iat` to `exp`)"
            )));
        }
        let now = jsonwebtoken::get_current_timestamp();
        if iat > now + LEEWAY {
            return Err(ApiError::unauthorized("the token's `iat` is in the future"));
        }
        Ok(())
    }
}

fn identity(token: &str, claims: Claims) -> Result<Identity, ApiError> {
    let Some(tenant) = claims.tenant else {
        return Err(ApiError::unauthorized("the token has no `tenant` claim"));
    };
    if !valid_name(&tenant) {
        return Err(ApiError::unauthorized(
            "the token's `tenant` claim is not a valid name (1-64 of A-Z a-z 0-9 . _ -, not starting with . or -)",
        ));
    }
    Ok(Identity {
        tenant,
        subject: claims.sub,
        token_key: xxhash_rust::xxh3::xxh3_64(token.as_bytes()),
    })
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "the token's issuer (iss) is not accepted".into(),
        ErrorKind::InvalidAudience => "the token's audience (aud) is not accepted".into(),
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("the token lacks the `{c}` claim"),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        _ => format!("invalid token: {e}"),
    }
}

/// Tenant and project names: they become directory names and metric labels.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-only";

    fn verifier() -> Verifier {
        verifier_with_max_age(None)
    }

    fn verifier_with_max_age(max_age: Option<u64>) -> Verifier {
        Verifier::new(&JwtSettings {
            secret: Some(SECRET.to_vec()),
            public_keys: vec![],
            issuer: Some("issuer".into()),
            audience: Some("codegraph".into()),
            max_age,
        })
        .unwrap()
    }

    #[test]
    fn a_maximum_age_refuses_long_lived_tokens_and_tokens_without_iat() {
        let v = verifier_with_max_age(Some(3600));
        let claims = |extra: serde_json::Value| {
            let mut c = serde_json::json!({
                "tenant": "acme", "exp": now() + 600, "iss": "issuer", "aud": "codegraph"
            });
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let t = encode(&Header::default(), &c, &EncodingKey::from_secret(SECRET)).unwrap();
            v.verify(&t)
        };
        assert!(claims(serde_json::json!({"iat": now()})).is_ok());
        let no_iat = claims(serde_json::json!({})).unwrap_err();
        assert!(no_iat.message.contains("iat"), "{}", no_iat.message);
        let long = claims(serde_json::json!({"iat": now(), "exp": now() + 86_400})).unwrap_err();
        assert!(long.message.contains("longer"), "{}", long.message);
        let future = claims(serde_json::json!({"iat": now() + 600})).unwrap_err();
        assert!(future.message.contains("future"), "{}", future.message);
        // Without a maximum, neither is asked.
        assert!(verifier().verify(&encode(
            &Header::default(),
            &serde_json::json!({"tenant": "acme", "exp": now() + 86_400 * 365, "iss": "issuer", "aud": "codegraph"}),
            &EncodingKey::from_secret(SECRET),
        ).unwrap()).is_ok());
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn token(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[test]
    fn a_valid_token_names_its_tenant() {
        let t = token(serde_json::json!({
            "tenant": "acme", "sub": "ci", "exp": now() + 60, "iss": "issuer", "aud": "codegraph"
        }));
        let id = verifier().verify(&t).unwrap();
        assert_eq!(id.tenant, "acme");
        assert_eq!(id.subject.as_deref(), Some("ci"));
    }

    #[test]
    fn each_bad_claim_is_refused_with_its_reason() {
        let v = verifier();
        let base = serde_json::json!({
            "tenant": "acme", "exp": now() + 60, "iss": "issuer", "aud": "codegraph"
        });
        let cases = [
            ("exp", serde_json::json!(now() - 60), "expired"),
            ("nbf", serde_json::json!(now() + 600), "not valid yet"),
            ("iss", serde_json::json!("other"), "issuer"),
            ("aud", serde_json::json!("other"), "audience"),
            ("tenant", serde_json::json!("../etc"), "tenant"),
        ];
        for (claim, value, reason) in cases {
            let mut c = base.clone();
            c[claim] = value;
            let e = v.verify(&token(c)).unwrap_err();
            assert_eq!(e.status, 401, "{claim}");
            assert!(e.message.contains(reason), "{claim}: {}", e.message);
        }
        let mut no_exp = base.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(
            v.verify(&token(no_exp))
                .unwrap_err()
                .message
                .contains("exp")
        );
    }

    #[test]
    fn tenant_names_are_plain() {
        for ok in ["acme", "a.b-c_d", "A1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "-x", "a/b", "a b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    proptest::proptest! {
        /// Whatever a client sends as a token or header, the answer is an identity or a
        /// 401, never a panic; a token whose signature was not made with the secret is
        /// never accepted.
        #[test]
        fn arbitrary_tokens_are_refused_without_panicking(
            header in "\\PC{0,200}",
            parts in proptest::collection::vec("[A-Za-z0-9_\\-=.]{0,60}", 0..5),
        ) {
            let v = verifier();
            let _ = v.verify_header(Some(&header));
            let token = parts.join(".");
            if let Err(e) = v.verify(&token) {
                proptest::prop_assert_eq!(e.status, 401);
            } else {
                proptest::prop_assert!(false, "accepted a forged token {}", token);
            }
        }

        #[test]
        fn valid_names_never_leave_their_directory(name in "\\PC{0,80}") {
            if valid_name(&name) {
                let p = std::path::Path::new("/base").join(&name);
                proptest::prop_assert_eq!(p.parent(), Some(std::path::Path::new("/base")));
                proptest::prop_assert!(p.components().count() == 3);
            }
        }
    }
}
