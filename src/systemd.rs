//! The two things a `Type=notify` service tells systemd: "ready", and
//! regular watchdog pings. A datagram to `$NOTIFY_SOCKET`; outside systemd
//! these do nothing. And the signal a service is stopped with.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Send `state` (e.g. "READY=1") to systemd, if we run under it.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        // An abstract socket: Linux only, like systemd.
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name) {
                let _ = sock.send_to_addr(state.as_bytes(), &addr);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = abstract_name;
        return;
    }
    let _ = sock.send_to(state.as_bytes(), std::path::Path::new(&path));
}

/// How often to ping the watchdog: half its timeout, if one is set.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// SIGTERM or ctrl-c. The SIGTERM handler is installed now, not when the
/// future is first polled: a SIGTERM right after READY=1 must not kill the
/// process before the loop first waits for it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_reaches_the_socket() {
        let dir = std::env::temp_dir().join(format!("mc-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        std::env::set_var("NOTIFY_SOCKET", &path);
        notify("READY=1");
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::env::set_var("WATCHDOG_USEC", "30000000");
        assert_eq!(watchdog_interval(), Some(Duration::from_secs(15)));
        std::env::remove_var("NOTIFY_SOCKET");
        std::env::remove_var("WATCHDOG_USEC");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
