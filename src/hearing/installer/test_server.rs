//! A tiny HTTP/1.1 server for the installer's tests.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A tiny HTTP/1.1 server on 127.0.0.1 serving fixed bodies by path
/// (everything else is 404). It stops when dropped, or after 30 s.
pub struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    pub hits: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(routes: Vec<(&str, Vec<u8>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(std::sync::Mutex::new(Vec::new()));
        let routes: Vec<(String, Vec<u8>)> = routes
            .into_iter()
            .map(|(p, b)| (p.to_string(), b))
            .collect();
        let (stop2, hits2) = (stop.clone(), hits.clone());
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while !stop2.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                hits2.lock().unwrap().push(path.clone());
                let resp = match routes.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(body);
                        r
                    }
                    None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                        .to_vec(),
                };
                let _ = conn.write_all(&resp);
                let _ = conn.flush();
            }
        });
        Server { port, stop, hits }
    }

    pub fn url(&self, path: &str) -> &'static str {
        Box::leak(format!("http://127.0.0.1:{}{path}", self.port).into_boxed_str())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
