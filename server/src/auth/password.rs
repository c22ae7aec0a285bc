//! Passwords in Werkzeug's `generate_password_hash` format, the one MLflow's
//! auth database holds: `method$salt$hex`. New hashes are
//! `scrypt:32768:8:1$<16 alphanumerics>$<128 hex>`; `pbkdf2:<hash>:<iterations>`
//! (what Werkzeug wrote before 2.3) verifies too. The salt is the ASCII salt
//! text itself, as Werkzeug uses it. Digests are compared in constant time.
//!
//! A scrypt check costs ~0.15 s of CPU and 32 MiB: callers run these in
//! `spawn_blocking`.

use rand::distributions::Alphanumeric;
use rand::Rng;
use subtle::ConstantTimeEq;

/// Werkzeug's default scrypt cost: N = 2^15, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// scrypt's derived key length in Werkzeug (64 bytes, 128 hex).
const SCRYPT_KEY_LEN: usize = 64;
const SALT_LEN: usize = 16;
/// `pbkdf2` without an iteration count means this many (Werkzeug 3.1).
const PBKDF2_DEFAULT_ITERATIONS: u32 = 1_000_000;
/// Refuse stored parameters that would make one check a denial of service.
const SCRYPT_MAX_LOG_N: u8 = 20;
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;

/// A new hash of `password` in Werkzeug's default format.
pub fn hash_password(password: &str) -> String {
    let salt: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(SALT_LEN)
        .map(char::from)
        .collect();
    let digest = scrypt_hex(password, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P).unwrap_or_default();
    format!(
        "scrypt:{}:{SCRYPT_R}:{SCRYPT_P}${salt}${digest}",
        1u32 << SCRYPT_LOG_N
    )
}

/// Whether `password` matches `stored` (Werkzeug's `check_password_hash`).
/// A malformed or unsupported hash is "no match".
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.splitn(3, '$');
    let (Some(method), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(actual) = derive_hex(password, method, salt) else {
        return false;
    };
    actual.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Runs the method a stored hash names on `password` with its salt.
fn derive_hex(password: &str, method: &str, salt: &str) -> Option<String> {
    let mut args = method.split(':');
    match args.next()? {
        "scrypt" => {
            let n: u64 = args
                .next()
                .map_or(Some(1 << SCRYPT_LOG_N), |v| v.parse().ok())?;
            let r: u32 = args.next().map_or(Some(SCRYPT_R), |v| v.parse().ok())?;
            let p: u32 = args.next().map_or(Some(SCRYPT_P), |v| v.parse().ok())?;
            if !n.is_power_of_two() || n < 2 {
                return None;
            }
            let log_n = u8::try_from(n.trailing_zeros()).ok()?;
            if log_n > SCRYPT_MAX_LOG_N {
                return None;
            }
            scrypt_hex(password, salt, log_n, r, p)
        }
        "pbkdf2" => {
            let hash = args.next().unwrap_or("sha256");
            let iterations: u32 = args
                .next()
                .map_or(Some(PBKDF2_DEFAULT_ITERATIONS), |v| v.parse().ok())?;
            if iterations == 0 || iterations > PBKDF2_MAX_ITERATIONS {
                return None;
            }
            pbkdf2_hex(password, salt, hash, iterations)
        }
        _ => None,
    }
}

fn scrypt_hex(password: &str, salt: &str, log_n: u8, r: u32, p: u32) -> Option<String> {
    let params = scrypt::Params::new(log_n, r, p, SCRYPT_KEY_LEN).ok()?;
    let mut out = [0u8; SCRYPT_KEY_LEN];
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out).ok()?;
    Some(hex::encode(out))
}

fn pbkdf2_hex(password: &str, salt: &str, hash: &str, iterations: u32) -> Option<String> {
    let (pw, salt) = (password.as_bytes(), salt.as_bytes());
    // The derived key is the digest's size, as hashlib.pbkdf2_hmac's default.
    Some(match hash {
        "sha256" => {
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw, salt, iterations, &mut out);
            hex::encode(out)
        }
        "sha512" => {
            let mut out = [0u8; 64];
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pw, salt, iterations, &mut out);
            hex::encode(out)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hashes_have_werkzeugs_shape_and_verify() {
        let hash = hash_password("correct horse battery");
        let parts: Vec<&str> = hash.split('$').collect();
        assert_eq!(parts[0], "scrypt:32768:8:1");
        assert_eq!(parts[1].len(), 16);
        assert!(parts[1].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(parts[2].len(), 128);
        assert!(parts[2].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
    }

    #[test]
    fn verifies_hashes_werkzeug_wrote() {
        // werkzeug.security._hash_internal(method, salt, password), Werkzeug 3.1.9.
        let scrypt = "scrypt:32768:8:1$Zq3kV9xLm2Pa7TbC$fb8b65a14a75dfddacd213634367c5dad3ac5d562e82d36f\
                      5b0b28670b2f4ae12acef368075e9ae524aec68e15585c51dea61c34f3a44b4151230abe7657d783";
        assert!(verify_password("password1234", scrypt));
        assert!(!verify_password("password1235", scrypt));
        // A pre-2.3 pbkdf2 hash; the password has a colon and a non-ASCII letter.
        let pbkdf2 = "pbkdf2:sha256:260000$R2d2C3poBb8Luke1$\
                      9566de7cc3409336d9592714753cd41e39f68ddbb353e6503762ca1385c9b944";
        assert!(verify_password("s3cret-pässword:x", pbkdf2));
        assert!(!verify_password("s3cret-password:x", pbkdf2));
        // Bare `pbkdf2`: sha256, 1,000,000 iterations.
        let bare = "pbkdf2$abc$c286b8615098c55ca8509fb125e682255d9ed0bf7bdf74fdd2cccb0fab4a1b8a";
        assert!(verify_password("pw", bare));
    }

    #[test]
    fn pbkdf2_matches_the_rfc_6070_style_vector() {
        // PBKDF2-HMAC-SHA256("password", "salt", 1 iteration), 32 bytes.
        assert_eq!(
            pbkdf2_hex("password", "salt", "sha256", 1).unwrap(),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        let stored =
            "pbkdf2:sha256:1$salt$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b";
        assert!(verify_password("password", stored));
        assert!(!verify_password("passwore", stored));
    }

    #[test]
    fn scrypt_matches_the_rfc_7914_vector() {
        // RFC 7914 §12: scrypt("password", "NaCl", N=1024, r=8, p=16, 64).
        assert_eq!(
            scrypt_hex("password", "NaCl", 10, 8, 16).unwrap(),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a388\
             6ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
        let stored = "scrypt:1024:8:16$NaCl$fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640";
        assert!(verify_password("password", stored));
    }

    #[test]
    fn malformed_hashes_never_match() {
        for stored in [
            "",
            "scrypt",
            "scrypt:32768:8:1$salt",
            "scrypt:1000:8:1$salt$00",
            "scrypt:x:8:1$salt$00",
            "md5$salt$00",
            "pbkdf2:md5:1000$salt$00",
            "pbkdf2:sha256:0$salt$00",
            "scrypt:2097152:8:1$salt$00",
        ] {
            assert!(!verify_password("whatever", stored), "{stored}");
        }
    }
}
