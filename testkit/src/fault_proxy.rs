//! A fault-injecting HTTP/1.1 proxy on loopback, between the provider and a backend (moto):
//! it passes each request and its answer on, except where a test asked for a fault. It
//! covers what the backend itself cannot do: answers that are not the service's (a load
//! balancer's 503, a 429 with Retry-After), connections that drop, and answers that are lost
//! after the backend acted on the request.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with an HTML body (not the service's), and `Retry-After: 1`.
    Status(u16),
    /// Close the connection without answering: the request never reached the backend.
    Drop,
    /// Pass the request on, then close without passing the answer back: the backend acted,
    /// the client never hears of it.
    LoseAnswer,
}

/// What became of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    Faulted(Fault),
}

type Rules = Vec<(String, VecDeque<Fault>)>;

pub struct FaultProxy {
    pub port: u16,
    rules: Arc<Mutex<Rules>>,
    seen: Arc<Mutex<Vec<(String, Outcome)>>>,
}

impl FaultProxy {
    /// A proxy to the HTTP server on 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the fault proxy");
        let port = listener.local_addr().expect("address").port();
        let rules: Arc<Mutex<Rules>> = Arc::default();
        let seen: Arc<Mutex<Vec<(String, Outcome)>>> = Arc::default();
        let (r, s) = (rules.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || serve(client, upstream, &r, &s));
            }
        });
        FaultProxy { port, rules, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next requests whose request line or body contains `marker` (an AWS action such as
    /// `Action=CreateDBInstanceReadReplica`) meet `faults`, one each, in order.
    pub fn inject(&self, marker: &str, faults: &[Fault]) {
        self.rules.lock().expect("rules").push((marker.to_string(), faults.iter().copied().collect()));
    }

    /// What became of each request containing `marker`, in order.
    pub fn seen(&self, marker: &str) -> Vec<Outcome> {
        self.seen.lock().expect("seen").iter().filter(|(text, _)| text.contains(marker)).map(|(_, o)| o.clone()).collect()
    }
}

fn serve(client: TcpStream, upstream: u16, rules: &Mutex<Rules>, seen: &Mutex<Vec<(String, Outcome)>>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone the client stream"));
    let mut client = client;
    // One request after another on a kept-alive connection.
    while let Some((head, body)) = read_request(&mut reader) {
        let text = format!("{}\n{}", head.lines().next().unwrap_or_default(), String::from_utf8_lossy(&body));
        let fault = {
            let mut rules = rules.lock().expect("rules");
            rules.iter_mut().find(|(marker, faults)| !faults.is_empty() && text.contains(marker.as_str())).and_then(|(_, f)| f.pop_front())
        };
        seen.lock().expect("seen").push((text, fault.map(Outcome::Faulted).unwrap_or(Outcome::Forwarded)));
        match fault {
            Some(Fault::Status(code)) => {
                let page = format!("<html><body><h1>{code}</h1>the load balancer has no healthy backend</body></html>");
                let _ = write!(
                    client,
                    "HTTP/1.1 {code} Fault\r\nContent-Type: text/html\r\nContent-Length: {}\r\nRetry-After: 1\r\n\r\n{page}",
                    page.len()
                );
            }
            Some(Fault::Drop) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::LoseAnswer) => {
                let _ = forward(&head, &body, upstream);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            None => match forward(&head, &body, upstream) {
                Some(answer) => {
                    if client.write_all(&answer).is_err() {
                        return;
                    }
                }
                None => {
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
            },
        }
    }
}

/// One request: its head (request line and headers) and its body (by Content-Length).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
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
fn forward(head: &str, body: &[u8], upstream: u16) -> Option<Vec<u8>> {
    let mut lines: Vec<&str> = head.trim_end().lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
    lines.push("Connection: close");
    let mut up = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).ok()?;
    up.write_all(format!("{}\r\n\r\n", lines.join("\r\n")).as_bytes()).ok()?;
    up.write_all(body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    // The client's connection stays open for its next request: say so, and how long this is.
    Some(keep_alive(answer))
}

/// The answer with `Connection: close` taken out and a Content-Length it can be read by.
fn keep_alive(answer: Vec<u8>) -> Vec<u8> {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { return answer };
    let (head, body) = (String::from_utf8_lossy(&answer[..split]).into_owned(), &answer[split + 4..]);
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
