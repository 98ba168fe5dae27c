use super::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// RFC 7677 section 3's example credential: user "user", password "pencil".
fn rfc_credential() -> ScramCredential {
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    let salted = ScramMechanism::Sha256.salted_password(b"pencil", &salt, 4096);
    ScramCredential::from_salted_password(ScramMechanism::Sha256, salt, &salted, 4096)
}

#[test]
fn rfc_7677_exchange_replays_exactly() {
    let mut server = ScramServer::new(ScramMechanism::Sha256);
    server.server_nonce = Some("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".to_string());
    let first = server.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", |u| (u == "user").then(rfc_credential)).unwrap();
    assert_eq!(
        first,
        Step::Continue(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".to_vec())
    );
    let last = server
        .step(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", |_| None)
        .unwrap();
    assert_eq!(last, Step::Done { response: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec(), user: "user".to_string() });
}

/// A client side of RFC 5802, to run exchanges against the server.
fn client_final(mechanism: ScramMechanism, password: &str, client_first_bare: &str, server_first: &str) -> String {
    let fields: Vec<&str> = server_first.split(',').collect();
    let nonce = &fields[0][2..];
    let salt = B64.decode(&fields[1][2..]).unwrap();
    let iterations: u32 = fields[2][2..].parse().unwrap();
    let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations);
    let client_key = mechanism.hmac(&salted, b"Client Key");
    let stored_key = mechanism.hash(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = mechanism.hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
    format!("{without_proof},p={}", B64.encode(proof))
}

fn login(mechanism: ScramMechanism, stored: &ScramCredential, user: &str, password: &str) -> Result<Step, AuthFailure> {
    let mut server = ScramServer::new(mechanism);
    let bare = format!("n={user},r=clientnonce");
    let Step::Continue(server_first) = server.step(format!("n,,{bare}").as_bytes(), |_| Some(stored.clone()))? else {
        panic!("the first step must continue")
    };
    let server_first = String::from_utf8(server_first).unwrap();
    server.step(client_final(mechanism, password, &bare, &server_first).as_bytes(), |_| None)
}

#[test]
fn both_mechanisms_accept_the_right_password_and_refuse_a_wrong_one() {
    for mechanism in ScramMechanism::ALL {
        let stored = ScramCredential::new(mechanism, "secret", 4096);
        assert!(matches!(login(mechanism, &stored, "alice", "secret"), Ok(Step::Done { ref user, .. }) if user == "alice"));
        let failure = login(mechanism, &stored, "alice", "guess").unwrap_err();
        assert_eq!(
            failure.message,
            format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {}", mechanism.name())
        );
    }
}

#[test]
fn unknown_users_get_the_same_message_as_wrong_passwords() {
    let mut server = ScramServer::new(ScramMechanism::Sha512);
    let failure = server.step(b"n,,n=nobody,r=abc", |_| None).unwrap_err();
    assert_eq!(failure.message, "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512");
}

#[test]
fn escaped_user_names_and_authzid_are_understood() {
    let stored = ScramCredential::new(ScramMechanism::Sha256, "pw", 4096);
    let mut server = ScramServer::new(ScramMechanism::Sha256);
    let mut seen = String::new();
    server.step(b"n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=x", |u| {
        seen = u.to_string();
        Some(stored.clone())
    })
    .unwrap();
    assert_eq!(seen, "a,b=c");
    let mut server = ScramServer::new(ScramMechanism::Sha256);
    let failure = server.step(b"n,a=bob,n=alice,r=x", |_| Some(stored.clone())).unwrap_err();
    assert_eq!(failure.message, "Authentication failed: Client requested an authorization id that is different from username");
}

#[test]
fn malformed_messages_fail_without_panicking() {
    let stored = ScramCredential::new(ScramMechanism::Sha256, "pw", 4096);
    let firsts: [&[u8]; 11] = [
        b"",
        b"n",
        b"y,,n=a,r=x",
        b"p=tls-unique,,n=a,r=x",
        b"n,,r=x,n=a",
        b"n,,m=ext,n=a,r=x",
        b"n,,n=,r=x",
        b"n,,n=a=2,r=x",
        b"n,,n=a,r=",
        b"n,,n=a,r=x,tokenauth=true",
        b"n,,n=\xff,r=x",
    ];
    for first in firsts {
        let mut server = ScramServer::new(ScramMechanism::Sha256);
        assert!(server.step(first, |_| Some(stored.clone())).is_err(), "{:?}", String::from_utf8_lossy(first));
    }
    let finals: [&[u8]; 6] = [b"", b"c=biws", b"c=biws,r=x,p=!!", b"c=eHl6,r=clientnonce,p=AAAA", b"r=x,c=biws,p=AAAA", b"c=biws,r=clientnonceX,p=AAAA"];
    for last in finals {
        let mut server = ScramServer::new(ScramMechanism::Sha256);
        server.step(b"n,,n=a,r=clientnonce", |_| Some(stored.clone())).unwrap();
        assert!(server.step(last, |_| None).is_err(), "{:?}", String::from_utf8_lossy(last));
        assert!(server.step(b"c=biws", |_| None).is_err(), "no second chance after a failure");
    }
}

#[test]
fn credentials_verify_plain_passwords_and_hide_their_keys() {
    let stored = ScramCredential::new(ScramMechanism::Sha512, "secret", 4096);
    assert!(stored.verifies(ScramMechanism::Sha512, "secret"));
    assert!(!stored.verifies(ScramMechanism::Sha512, "Secret"));
    assert!(!format!("{stored:?}").contains(&format!("{:?}", stored.stored_key)));
    let json = serde_json::to_string(&stored).unwrap();
    assert_eq!(serde_json::from_str::<ScramCredential>(&json).unwrap(), stored);
    assert!(!json.contains("secret"));
}

#[test]
fn mechanism_type_codes_are_kafkas() {
    assert_eq!(ScramMechanism::from_type_code(1), Some(ScramMechanism::Sha256));
    assert_eq!(ScramMechanism::from_type_code(2), Some(ScramMechanism::Sha512));
    assert_eq!(ScramMechanism::from_type_code(0), None);
}
