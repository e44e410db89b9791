//! The one HTTPS client the SDK clients share, and which certificate authorities it trusts.
//!
//! By default the function trusts the Amazon Trust Services roots compiled into it
//! (`amazon_trust_services_roots.pem`): every AWS endpoint of the `aws` partition chains to one of
//! them, so trusting the whole system store would only widen who can impersonate IAM or Secrets
//! Manager. It is also what makes the cold start cheap: the SDK's default client reads and parses
//! every file of the system store (about 300 on Debian) before the first request, which was two
//! thirds of our start-up time (docs/performance.md).
//!
//! Setting `SSL_CERT_FILE` or `SSL_CERT_DIR` (the variables OpenSSL and rustls-native-certs read)
//! adds the certificates found there: for a TLS-inspecting proxy, or a partition whose endpoints
//! chain elsewhere (aws-cn).

use aws_sdk_sts::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

pub const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("amazon_trust_services_roots.pem");

/// Where the function's trusted roots come from, decided from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedRoots {
    /// The compiled-in Amazon Trust Services roots only.
    AmazonTrustServices,
    /// Those, plus the certificates at `SSL_CERT_FILE` / `SSL_CERT_DIR` (named here for the log).
    AmazonTrustServicesAndSystem { from: String },
}

impl TrustedRoots {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let from: Vec<String> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
            .into_iter()
            .filter_map(|name| {
                lookup(name)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{name}={v}"))
            })
            .collect();
        if from.is_empty() {
            TrustedRoots::AmazonTrustServices
        } else {
            TrustedRoots::AmazonTrustServicesAndSystem {
                from: from.join(", "),
            }
        }
    }

    fn trust_store(&self) -> TrustStore {
        let amazon = TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS);
        match self {
            TrustedRoots::AmazonTrustServices => amazon,
            // rustls-native-certs reads only the named file and directory when these are set.
            TrustedRoots::AmazonTrustServicesAndSystem { .. } => amazon.with_native_roots(true),
        }
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxy settings from the
/// environment), except for the trusted roots.
pub fn https_client(roots: &TrustedRoots) -> SharedHttpClient {
    let tls_context = TlsContext::builder()
        .with_trust_store(roots.trust_store())
        .build()
        .expect("a TLS context with a trust store and no other option always builds");
    // The same connector function as aws-smithy-runtime's `default_https_client`, with our
    // TLS context: one connector per timeout setting, built when a client is first configured.
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(tls_context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
