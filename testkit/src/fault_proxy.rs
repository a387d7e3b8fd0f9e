//! A fault-injecting HTTP/1.1 proxy on loopback, between the provider and a backend (moto):
//! it passes each request and its answer on, except where a test asked for a fault. It
//! covers what the backend itself cannot do: answers that are not the service's (a load
//! balancer's 503, a 429 with Retry-After), connections that drop, and answers that are lost
//! after the backend acted on the request.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with an HTML body (not the service's), and `Retry-After: 1`.
    Status(u16),
    /// The same with `Retry-After` of this many seconds.
    StatusRetryAfter(u16, u64),
    /// Close the connection without answering: the request never reached the backend.
    Drop,
    /// Pass the request on, then close without passing the answer back: the backend acted,
    /// the client never hears of it.
    LoseAnswer,
    /// Pass the request on, then hold its answer this many seconds: a slow backend, and a
    /// request in flight when a test presses Ctrl-C.
    HoldAnswer(u64),
}

/// What became of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    Faulted(Fault),
}

type Rules = Vec<(String, VecDeque<Fault>)>;

/// Each request's text, when it arrived and what became of it.
type Seen = Vec<(String, Instant, Outcome)>;

pub struct FaultProxy {
    pub port: u16,
    scheme: &'static str,
    rules: Arc<Mutex<Rules>>,
    seen: Arc<Mutex<Seen>>,
}

/// A connection either side: plain TCP or TLS.
trait Stream: Read + Write + Send {}
impl<S: Read + Write + Send> Stream for S {}

type Connect = Arc<dyn Fn() -> Option<Box<dyn Stream>> + Send + Sync>;

impl FaultProxy {
    /// A proxy to the HTTP server on 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> FaultProxy {
        let connect: Connect =
            Arc::new(move || Some(Box::new(TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).ok()?) as Box<dyn Stream>));
        FaultProxy::serve_with("http", |tcp| Some(Box::new(tcp) as Box<dyn Stream>), connect)
    }

    /// A proxy to the HTTPS server on 127.0.0.1:`upstream` whose certificate `ca_pem` signed
    /// (a kube-apiserver): clients meet a self-signed certificate for 127.0.0.1 (their
    /// kubeconfig skips verifying it), and the proxy speaks TLS on to the server.
    pub fn start_tls(upstream: u16, ca_pem: &Path) -> FaultProxy {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("self-signed certificate");
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
            )
            .expect("proxy certificate");
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(ca_pem).expect("read the server's CA") {
            roots.add(ca.expect("CA certificate")).expect("trust the server's CA");
        }
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let (server, client) = (Arc::new(server), Arc::new(client));
        let connect: Connect = Arc::new(move || {
            let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).ok()?;
            let name = ServerName::try_from("127.0.0.1").ok()?;
            let tls = rustls::ClientConnection::new(client.clone(), name).ok()?;
            Some(Box::new(rustls::StreamOwned::new(tls, tcp)) as Box<dyn Stream>)
        });
        FaultProxy::serve_with(
            "https",
            move |mut tcp| {
                let mut tls = rustls::ServerConnection::new(server.clone()).ok()?;
                while tls.is_handshaking() {
                    tls.complete_io(&mut tcp).ok()?;
                }
                Some(Box::new(rustls::StreamOwned::new(tls, tcp)) as Box<dyn Stream>)
            },
            connect,
        )
    }

    fn serve_with(
        scheme: &'static str,
        accept: impl Fn(TcpStream) -> Option<Box<dyn Stream>> + Send + Sync + 'static,
        connect: Connect,
    ) -> FaultProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the fault proxy");
        let port = listener.local_addr().expect("address").port();
        let rules: Arc<Mutex<Rules>> = Arc::default();
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let (r, s, accept) = (rules.clone(), seen.clone(), Arc::new(accept));
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (r, s, accept, connect) = (r.clone(), s.clone(), accept.clone(), connect.clone());
                // The TLS handshake happens on the connection's own thread.
                std::thread::spawn(move || {
                    if let Some(client) = accept(tcp) {
                        serve(client, &connect, &r, &s);
                    }
                });
            }
        });
        FaultProxy { port, scheme, rules, seen }
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// The next requests whose request line or body contains `marker` (an AWS action such as
    /// `Action=CreateDBInstanceReadReplica`, or a Kubernetes path) meet `faults`, one each, in
    /// order.
    pub fn inject(&self, marker: &str, faults: &[Fault]) {
        self.rules.lock().expect("rules").push((marker.to_string(), faults.iter().copied().collect()));
    }

    /// What became of each request containing `marker`, in order.
    pub fn seen(&self, marker: &str) -> Vec<Outcome> {
        self.seen_at(marker).into_iter().map(|(_, outcome)| outcome).collect()
    }

    /// When each request containing `marker` arrived, and what became of it, in order.
    pub fn seen_at(&self, marker: &str) -> Vec<(Instant, Outcome)> {
        self.seen.lock().expect("seen").iter().filter(|(text, ..)| text.contains(marker)).map(|(_, at, o)| (*at, *o)).collect()
    }
}

fn serve(client: Box<dyn Stream>, connect: &Connect, rules: &Mutex<Rules>, seen: &Mutex<Seen>) {
    let mut reader = BufReader::new(client);
    // One request after another on a kept-alive connection.
    while let Some((head, body)) = read_request(&mut reader) {
        let text = format!("{}\n{}", head.lines().next().unwrap_or_default(), String::from_utf8_lossy(&body));
        let fault = {
            let mut rules = rules.lock().expect("rules");
            rules.iter_mut().find(|(marker, faults)| !faults.is_empty() && text.contains(marker.as_str())).and_then(|(_, f)| f.pop_front())
        };
        seen.lock().expect("seen").push((text, Instant::now(), fault.map(Outcome::Faulted).unwrap_or(Outcome::Forwarded)));
        let client = reader.get_mut();
        match fault {
            Some(Fault::Status(code) | Fault::StatusRetryAfter(code, _)) => {
                let retry_after = match fault {
                    Some(Fault::StatusRetryAfter(_, seconds)) => seconds,
                    _ => 1,
                };
                let page = format!("<html><body><h1>{code}</h1>the load balancer has no healthy backend</body></html>");
                let answer = format!(
                    "HTTP/1.1 {code} Fault\r\nContent-Type: text/html\r\nContent-Length: {}\r\nRetry-After: {retry_after}\r\n\r\n{page}",
                    page.len()
                );
                if client.write_all(answer.as_bytes()).and_then(|()| client.flush()).is_err() {
                    return;
                }
            }
            Some(Fault::Drop) => return,
            Some(Fault::HoldAnswer(seconds)) => {
                let answer = forward(&head, &body, connect);
                std::thread::sleep(std::time::Duration::from_secs(seconds));
                match answer {
                    Some(answer) if client.write_all(&answer).and_then(|()| client.flush()).is_ok() => {}
                    _ => return,
                }
            }
            Some(Fault::LoseAnswer) => {
                let _ = forward(&head, &body, connect);
                return;
            }
            None => match forward(&head, &body, connect) {
                Some(answer) => {
                    if client.write_all(&answer).and_then(|()| client.flush()).is_err() {
                        return;
                    }
                }
                None => return,
            },
        }
    }
}

/// One request: its head (request line and headers) and its body (by Content-Length).
fn read_request(reader: &mut BufReader<Box<dyn Stream>>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Sends the request upstream on a connection of its own and returns the whole answer (the
/// upstream closes after it: `Connection: close`).
fn forward(head: &str, body: &[u8], connect: &Connect) -> Option<Vec<u8>> {
    let mut lines: Vec<&str> = head.trim_end().lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
    lines.push("Connection: close");
    let mut up = connect()?;
    up.write_all(format!("{}\r\n\r\n", lines.join("\r\n")).as_bytes()).ok()?;
    up.write_all(body).ok()?;
    up.flush().ok()?;
    let mut answer = Vec::new();
    // A TLS server may close without close_notify; what arrived is the answer.
    let _ = up.read_to_end(&mut answer);
    if answer.is_empty() {
        return None;
    }
    // The client's connection stays open for its next request: say so, and how long this is.
    Some(keep_alive(answer))
}

/// The answer with `Connection: close` taken out and a Content-Length it can be read by.
fn keep_alive(answer: Vec<u8>) -> Vec<u8> {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { return answer };
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let chunked = head.lines().any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked { dechunk(&answer[split + 4..]) } else { answer[split + 4..].to_vec() };
    let body = body.as_slice();
    let mut lines: Vec<String> = head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("connection:") && !l.starts_with("content-length:") && !l.starts_with("transfer-encoding:")
        })
        .map(str::to_string)
        .collect();
    lines.push(format!("Content-Length: {}", body.len()));
    let mut out = format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes();
    out.extend_from_slice(body);
    out
}

/// A chunked body, joined (the answer is passed on with a Content-Length instead).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol]).ok().and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok());
        let Some(size) = size.filter(|n| *n > 0) else { break };
        let start = eol + 2;
        let Some(chunk) = raw.get(start..start + size) else { break };
        body.extend_from_slice(chunk);
        raw = raw.get(start + size + 2..).unwrap_or_default();
    }
    body
}
