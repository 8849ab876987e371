//! The console's static files, embedded in the binary: our small script,
//! and the vendored htmx with its licence (`static/vendor/README.md` says
//! where they come from). A versioned file is cached for a year; the
//! script is revalidated by its ETag, so a new release reaches staff on
//! their next page load.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    /// The name carries the version: never changes.
    immutable: bool,
    etag: OnceLock<String>,
}

impl Asset {
    const fn new(body: &'static [u8], content_type: &'static str, immutable: bool) -> Self {
        Self {
            body,
            content_type,
            immutable,
            etag: OnceLock::new(),
        }
    }

    fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = crate::domain::digest::sha256_hex(self.body);
            format!("\"{}\"", &digest[..32])
        })
    }

    fn serve(&self, req: &HttpRequest) -> HttpResponse {
        let etag = self.etag();
        let cache = if self.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, no-cache"
        };
        let matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let mut response = if matches {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::CACHE_CONTROL, cache))
            .insert_header((header::ETAG, etag.to_string()))
            .insert_header((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        if matches {
            response.finish()
        } else {
            response.content_type(self.content_type).body(self.body)
        }
    }
}

const JS: &str = "text/javascript; charset=utf-8";

static CONSOLE_JS: Asset = Asset::new(include_bytes!("static/console.js"), JS, false);
static RECEIPT_JS: Asset = Asset::new(include_bytes!("static/receipt.js"), JS, false);
static HTMX: Asset = Asset::new(include_bytes!("static/vendor/htmx-4.0.1.min.js"), JS, true);
static HX_SSE: Asset = Asset::new(
    include_bytes!("static/vendor/hx-sse-4.0.1.min.js"),
    JS,
    true,
);
static HTMX_LICENSE: Asset = Asset::new(
    include_bytes!("static/vendor/htmx-LICENSE.txt"),
    "text/plain; charset=utf-8",
    false,
);

/// `GET /static/console.js`
pub async fn console_js(req: HttpRequest) -> HttpResponse {
    CONSOLE_JS.serve(&req)
}

/// `GET /static/receipt.js`
pub async fn receipt_js(req: HttpRequest) -> HttpResponse {
    RECEIPT_JS.serve(&req)
}

/// `GET /static/vendor/htmx-4.0.1.min.js`
pub async fn htmx(req: HttpRequest) -> HttpResponse {
    HTMX.serve(&req)
}

/// `GET /static/vendor/hx-sse-4.0.1.min.js`
pub async fn htmx_sse(req: HttpRequest) -> HttpResponse {
    HX_SSE.serve(&req)
}

/// `GET /static/vendor/htmx-LICENSE.txt`
pub async fn htmx_license(req: HttpRequest) -> HttpResponse {
    HTMX_LICENSE.serve(&req)
}
