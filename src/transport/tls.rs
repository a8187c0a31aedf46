//! TLS for the transports that make their own connections (gRPC, WebSocket): rustls with the
//! ring provider, the system's root certificates, and for `insecure` targets a verifier that
//! accepts any certificate.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The application protocol offered in the TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// gRPC: HTTP/2.
    H2 = 0,
    /// WebSocket: its handshake is an HTTP/1.1 upgrade.
    Http1 = 1,
}

impl Alpn {
    fn protocol(self) -> &'static [u8] {
        match self {
            Alpn::H2 => b"h2",
            Alpn::Http1 => b"http/1.1",
        }
    }
}

/// The TLS client configuration, built once per kind and protocol: loading the system's roots reads files.
pub fn client_config(insecure: bool, alpn: Alpn) -> Result<Arc<ClientConfig>, String> {
    type Cell = OnceLock<Result<Arc<ClientConfig>, String>>;
    static CONFIGS: [Cell; 4] = [const { OnceLock::new() }; 4];
    let cell = &CONFIGS[usize::from(insecure) * 2 + alpn as usize];
    cell.get_or_init(|| {
        // As the HTTP transport does: ring, installed once as the process default (a second
        // install is harmless); the config names it explicitly all the same.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("could not set up TLS: {error}"))?;
        let mut config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            // Unreadable certificates are skipped: a server they would have verified fails
            // its handshake with "unknown issuer", which says what is missing.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = vec![alpn.protocol().to_vec()];
        Ok(Arc::new(config))
    })
    .clone()
}

/// Accepts any certificate, for targets marked insecure (self-signed test servers). The
/// handshake signatures are still verified, so the server must hold the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS error's text with rustls's debug spelling of a certificate problem it has no words for
/// (`invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`) put in words: `invalid peer
/// certificate: ca used as end entity (CaUsedAsEndEntity)`.
pub fn readable_error(text: &str) -> String {
    const OPEN: &str = "Other(OtherError(";
    let Some(start) = text.find(OPEN) else {
        return text.to_string();
    };
    let after = &text[start + OPEN.len()..];
    let Some(end) = after.find("))") else {
        return text.to_string();
    };
    let name = &after[..end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return text.to_string();
    }
    let mut words = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    format!("{}{words} ({name}){}", &text[..start], &after[end + 2..])
}

#[cfg(test)]
mod readable_error_tests {
    use super::readable_error;

    #[test]
    fn a_certificate_problem_rustls_has_no_words_for_is_put_in_words() {
        assert_eq!(
            readable_error("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"),
            "invalid peer certificate: ca used as end entity (CaUsedAsEndEntity)"
        );
        assert_eq!(
            readable_error("invalid peer certificate: UnknownIssuer"),
            "invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(
            readable_error("Other(OtherError(a b))"),
            "Other(OtherError(a b))"
        );
    }
}
