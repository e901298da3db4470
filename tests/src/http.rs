//! A small blocking HTTP client over real sockets, for plain HTTP on loopback.

use std::time::Duration;

use serde_json::Value;

/// What the tests look at in a response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics, showing the reply, if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }
}

pub struct Client {
    agent: ureq::Agent,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Client {
        let config = ureq::Agent::config_builder()
            // Error statuses are what several checks are about: keep them as replies.
            .http_status_as_error(false)
            // Loopback only: an http_proxy from the environment must not apply.
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Client {
            agent: config.into(),
        }
    }

    /// GET `url`, with a bearer token if given. `Err` means no HTTP reply at all.
    pub fn get(&self, url: &str, token: Option<&str>) -> Result<Reply, ureq::Error> {
        let mut request = self.agent.get(url).header("accept", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        reply(request.call())
    }

    /// Sends any request: `method` to `url` with `headers` and `body`.
    pub fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.to_vec()).expect("a valid request");
        reply(self.agent.run(request))
            .unwrap_or_else(|e| panic!("{method} {url} got no reply: {e}"))
    }

    /// POST `body` as JSON to `url`, with a bearer token if given.
    pub fn post_json(&self, url: &str, body: &Value, token: Option<&str>) -> Reply {
        let mut request = self
            .agent
            .post(url)
            .header("accept", "application/json")
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        reply(request.send(body.to_string()))
            .unwrap_or_else(|e| panic!("POST {url} got no reply: {e}"))
    }
}

fn reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, ureq::Error> {
    let mut response = result?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type");
    let location = header("location");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    Ok(Reply {
        status: response.status().as_u16(),
        content_type,
        location,
        headers,
        body: response.body_mut().read_to_string()?,
    })
}
