//! The terminal of `run -t`: a pty for the container, the caller's terminal in raw mode, and a
//! relay between the two.
//!
//! The pty comes from the container's own devpts: `open_pty` runs in the container after it
//! pivoted into its root, where /dev/ptmx leads to a fresh devpts instance mounted on
//! /dev/pts. So the container sees its terminal as /dev/pts/0 (`tty` and ttyname(3) work),
//! nothing of the host's devpts is mounted or used up, and the pty dies with the container.
//! The master then goes to the parent over the sync socket (`sys::pty::send_fd`).
//!
//! The slave is opened with TIOCGPTPEER on the master, not by the path /dev/pts/N: a path is
//! looked up in a tree the container controls, where something else may sit by then (another
//! devpts, a link); TIOCGPTPEER (Linux 4.13) opens the very slave of that master, with no
//! lookup at all.
//!
//! Raw mode: `RawMode` saves the caller's settings and puts them back when dropped, on every
//! return path (`?` included). nsbox installs no signal handlers and blocks the signals it
//! takes (they come through a signalfd here, SIGPIPE too), so no signal ends it while the
//! terminal is raw, save SIGKILL (then `stty sane` repairs it). A panic aborts and
//! `exit_now` skips destructors: drop the `RawMode` before either. Settings are applied
//! with TCSETS, which never waits (see `sys::term::set_attr`). Raw mode clears OPOST too: the
//! container's pty does the output processing (ONLCR), once.
//!
//! The relay runs in one thread with poll(2). The master is made non-blocking, so that input
//! the container does not read yet waits in a buffer instead of blocking nsbox (which would
//! then stop reading the container's output, and both would wait forever). The caller's
//! stdin and stdout stay blocking: O_NONBLOCK belongs to the open file, which the caller's
//! shell shares.

use crate::error::{Context, Result};
use crate::sys::signal::Received;
use crate::sys::{self, fd, fs, lifecycle, pty, term};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use syscalls::Errno;

/// cfmakeraw(3), written out: no input or output processing, no echo, no line editing, no
/// signal characters, 8-bit characters, and a read returns as soon as one byte is there.
pub fn make_raw(t: &mut libc::termios) {
    t.c_iflag &= !(libc::IGNBRK
        | libc::BRKINT
        | libc::PARMRK
        | libc::ISTRIP
        | libc::INLCR
        | libc::IGNCR
        | libc::ICRNL
        | libc::IXON);
    t.c_oflag &= !libc::OPOST;
    t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
    t.c_cflag &= !(libc::CSIZE | libc::PARENB);
    t.c_cflag |= libc::CS8;
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
}

/// A terminal in raw mode; dropping it puts the saved settings back (errors are ignored: the
/// terminal may be gone by then).
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Saves the settings of the terminal on `fd` and makes it raw.
    pub fn enter(fd: RawFd) -> Result<RawMode> {
        let saved =
            term::get_attr(&fd).ctx(|| format!("read the settings of the terminal on fd {fd}"))?;
        let mut raw = saved;
        make_raw(&mut raw);
        term::set_attr(&fd, &raw).ctx(|| format!("make the terminal on fd {fd} raw"))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = term::set_attr(&self.fd, &self.saved);
    }
}

/// Opens a new pty from /dev/ptmx under the current root: `(master, slave)`, both close-on-exec
/// and neither the caller's controlling terminal.
pub fn open_pty() -> Result<(OwnedFd, OwnedFd)> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    let master = fs::openat(libc::AT_FDCWD, c"/dev/ptmx", flags, 0)
        .ctx(|| "open /dev/ptmx".into())
        .map_err(|e| {
            e.hint_on(
                Errno::ENOENT,
                "the root needs /dev/ptmx (a link to pts/ptmx) and devpts on /dev/pts",
            )
        })?;
    pty::unlock(&master).ctx(|| "unlock the pty (TIOCSPTLCK)".into())?;
    let slave = pty::peer(&master).ctx(|| "open the pty's slave (TIOCGPTPEER)".into())?;
    Ok((master, slave))
}

/// Makes `slave` the terminal of the calling process: a new session (the caller must not lead
/// a process group: a freshly cloned process does not), `slave` as its controlling terminal,
/// and on fds 0, 1 and 2 (open across execve). `slave` itself is closed unless it is one of
/// those three, which is why it is taken by value.
pub fn attach(slave: OwnedFd) -> Result<()> {
    lifecycle::setsid().ctx(|| "start a new session (setsid)".into())?;
    pty::set_controlling(&slave).ctx(|| "make the pty the controlling terminal".into())?;
    for n in 0..3 {
        fd::dup2(&slave, n).ctx(|| format!("put the pty on fd {n}"))?;
    }
    if slave.as_raw_fd() > 2 {
        sys::close(slave);
    } else {
        // It is now one of fds 0-2 and must stay open.
        let _ = slave.into_raw_fd();
    }
    Ok(())
}

/// Gives the terminal `to` the window size of `from`, if `from` has one (best effort).
pub fn copy_winsize(from: RawFd, to: RawFd) {
    if let Ok(ws) = term::get_winsize(&from) {
        let _ = term::set_winsize(&to, &ws);
    }
}

/// How much a read from the master or the input takes at most.
const CHUNK: usize = 64 * 1024;
/// How much `drain` passes on at most: the container's processes are gone or about to be;
/// this bounds the wait should one of them keep writing.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

/// The state of one relay: what is still open, and input the master has not taken yet.
pub struct Relay<'a> {
    master: &'a OwnedFd,
    /// False once the master read 0 or EIO: every slave descriptor is closed.
    master_open: bool,
    /// None without input, or once it reached its end.
    input: Option<RawFd>,
    input_is_tty: bool,
    /// None once a write failed (EPIPE, EIO: nobody reads any more).
    output: Option<&'a mut dyn Sink>,
    /// Input bytes read but not yet written to the master.
    pending: Vec<u8>,
    buf: Vec<u8>,
}

/// Passes the container's output (`master`) on to `output` and `input` on to the container
/// until `on_signal`, called with each signal read from the signalfd `signals`, returns
/// `Some(v)`; then passes on what the master still holds and returns `v`.
///
/// SIGWINCH, when `input` is a terminal, does not reach `on_signal`: the relay gives the
/// master the input's window size (and the kernel tells the container with its own SIGWINCH).
/// Failed writes to `output` stop the output, not the relay: the container must still be
/// waited for. Errors come only from `on_signal`, poll and the signalfd.
pub fn relay<T>(
    master: &OwnedFd,
    input: Option<RawFd>,
    output: &mut dyn Sink,
    signals: &OwnedFd,
    mut on_signal: impl FnMut(Received) -> Result<Option<T>>,
) -> Result<T> {
    term::set_nonblocking(master, true).ctx(|| "make the pty master non-blocking".into())?;
    let mut r = Relay {
        master,
        master_open: true,
        input,
        input_is_tty: input.is_some_and(|fd| term::is_terminal(&fd)),
        output: Some(output),
        pending: Vec::new(),
        buf: vec![0; CHUNK],
    };
    loop {
        let mut fds = [
            pollfd(signals.as_raw_fd(), libc::POLLIN),
            r.master_poll(),
            r.input_poll(),
        ];
        term::poll(&mut fds, -1).ctx(|| "wait for the terminal (poll)".into())?;
        // Signals first: the drain still passes on whatever the master holds.
        if fds[0].revents != 0 {
            let sig = term::read_signal(signals).ctx(|| "read a signal (signalfd)".into())?;
            match (sig.signo, r.input) {
                (libc::SIGWINCH, Some(fd)) if r.input_is_tty => {
                    copy_winsize(fd, master.as_raw_fd())
                }
                _ => {
                    if let Some(v) = on_signal(sig)? {
                        r.drain();
                        return Ok(v);
                    }
                }
            }
        }
        if fds[1].revents & !libc::POLLOUT != 0 {
            r.read_master();
        }
        if fds[1].revents & libc::POLLOUT != 0 {
            r.write_master();
        }
        if fds[2].revents != 0 {
            r.read_input();
        }
    }
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

impl Relay<'_> {
    /// The master's poll entry: readable while open, writable while input waits for it.
    fn master_poll(&self) -> libc::pollfd {
        match (self.master_open, self.pending.is_empty()) {
            (false, _) => pollfd(-1, 0),
            (true, true) => pollfd(self.master.as_raw_fd(), libc::POLLIN),
            (true, false) => pollfd(self.master.as_raw_fd(), libc::POLLIN | libc::POLLOUT),
        }
    }

    /// The input's poll entry: only while the master is open and has taken earlier input.
    fn input_poll(&self) -> libc::pollfd {
        match self.input {
            Some(fd) if self.master_open && self.pending.is_empty() => pollfd(fd, libc::POLLIN),
            _ => pollfd(-1, 0),
        }
    }

    /// One read from the master, passed on to the output.
    fn read_master(&mut self) {
        match sys::read(self.master, &mut self.buf) {
            Ok(n) if n > 0 => put(&mut self.output, &self.buf[..n]),
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // 0 or EIO: no slave descriptor is open any more.
            _ => {
                self.master_open = false;
                self.pending.clear();
            }
        }
    }

    /// Writes pending input to the master, as much as it takes now.
    fn write_master(&mut self) {
        while !self.pending.is_empty() {
            match term::write_data(self.master, &self.pending) {
                Ok(0) | Err(Errno::EAGAIN) => return,
                Ok(n) => drop(self.pending.drain(..n)),
                Err(Errno::EINTR) => {}
                // EIO: the slave is closed; the next read of the master says so too.
                Err(_) => self.pending.clear(),
            }
        }
    }

    /// One read from the input, on to the master; at its end (or on an error) input stops.
    fn read_input(&mut self) {
        let Some(fd) = self.input else { return };
        match sys::read(&fd, &mut self.buf) {
            Ok(n) if n > 0 => {
                self.pending.extend_from_slice(&self.buf[..n]);
                self.write_master();
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            _ => self.input = None,
        }
    }

    /// Passes on what the master holds now, without waiting for more.
    fn drain(&mut self) {
        let mut total = 0;
        while self.master_open && total < DRAIN_LIMIT {
            match sys::read(self.master, &mut self.buf) {
                Ok(n) if n > 0 => {
                    total += n;
                    put(&mut self.output, &self.buf[..n]);
                }
                Err(Errno::EINTR) => {}
                // EAGAIN: nothing more for now; 0 or EIO: the slave side is closed.
                _ => return,
            }
        }
    }
}

/// Where the relay puts what the container writes.
pub trait Sink {
    /// Takes all of `data`; false when the output is gone for good (then nothing more is
    /// offered, and the relay goes on reading, so the container never blocks on it).
    fn put(&mut self, data: &[u8]) -> bool;
}

fn put(output: &mut Option<&mut dyn Sink>, data: &[u8]) {
    if let Some(sink) = output
        && !sink.put(data)
    {
        *output = None;
    }
}

/// A descriptor as the relay's output (the caller's terminal or stdout).
pub struct FdSink(pub RawFd);

impl Sink for FdSink {
    /// All of `data`, through short writes; if the output is non-blocking (its open file is
    /// shared: someone else may have set it), waits until it takes more.
    fn put(&mut self, data: &[u8]) -> bool {
        write_all(self.0, data)
    }
}

/// Writes all of `data` to `fd`; false when a write failed (other than EINTR, or EAGAIN on a
/// descriptor someone else made non-blocking: then it waits until `fd` takes more).
pub fn write_all(fd: RawFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match term::write_data(&fd, data) {
            Ok(n) if n > 0 => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                if term::poll(&mut [pollfd(fd, libc::POLLOUT)], -1).is_err() {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::clone;
    use crate::sys::process::{self, Exit};
    use crate::sys::signal::{self, SigSet};
    use std::io::Read;
    use std::time::{Duration, Instant};

    /// The fields the kernel keeps (TCGETS fills no more), for comparing two termios.
    fn fields(t: &libc::termios) -> (u32, u32, u32, u32, u8, [u8; 19]) {
        let mut cc = [0; 19];
        cc.copy_from_slice(&t.c_cc[..19]);
        (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_line, cc)
    }

    #[test]
    fn make_raw_matches_cfmakeraw() {
        let (_master, slave) = open_pty().unwrap();
        let real = term::get_attr(&slave).unwrap();
        let mut ones = real;
        (ones.c_iflag, ones.c_oflag, ones.c_cflag, ones.c_lflag) = (!0, !0, !0, !0);
        ones.c_cc = [0xff; libc::NCCS];
        let mut zero = real;
        (zero.c_iflag, zero.c_oflag, zero.c_cflag, zero.c_lflag) = (0, 0, 0, 0);
        zero.c_cc = [0; libc::NCCS];
        for input in [real, ones, zero] {
            let (mut ours, mut theirs) = (input, input);
            make_raw(&mut ours);
            term::cfmakeraw(&mut theirs);
            assert_eq!(fields(&ours), fields(&theirs));
            assert_eq!(ours.c_cc, theirs.c_cc);
        }
    }

    #[test]
    fn raw_mode_is_entered_and_restored_exactly() {
        let (_master, slave) = open_pty().unwrap();
        let before = term::get_attr(&slave).unwrap();
        assert_ne!(
            before.c_lflag & libc::ICANON,
            0,
            "a new pty starts canonical"
        );
        {
            let _raw = RawMode::enter(slave.as_raw_fd()).unwrap();
            let t = term::get_attr(&slave).unwrap();
            assert_eq!(t.c_lflag & (libc::ICANON | libc::ECHO | libc::ISIG), 0);
            assert_eq!(t.c_oflag & libc::OPOST, 0);
            assert_eq!(t.c_cc[libc::VMIN], 1);
        }
        assert_eq!(fields(&term::get_attr(&slave).unwrap()), fields(&before));
    }

    #[test]
    fn raw_mode_refuses_a_pipe() {
        let (r, _w) = std::io::pipe().unwrap();
        let e = RawMode::enter(r.as_raw_fd()).err().unwrap();
        assert_eq!(e.errno, Some(Errno::ENOTTY));
        assert!(!term::is_terminal(&r));
    }

    #[test]
    fn pty_number_names_a_device_of_the_hosts_devpts() {
        let (master, slave) = open_pty().unwrap();
        assert!(term::is_terminal(&slave) && term::is_terminal(&master));
        let n = pty::number(&master).unwrap();
        let path = sys::cstr(format!("/dev/pts/{n}")).unwrap();
        assert_eq!(fs::file_type(&path).unwrap(), libc::S_IFCHR);
        // The peer is that slave: what it writes, the master reads (ONLCR: "\n" -> "\r\n"),
        // in one read or more (the line discipline may pass "ping" and "\r\n" on apart).
        assert_eq!(term::write_data(&slave, b"ping\n").unwrap(), 5);
        let (mut buf, mut got) = ([0u8; 16], 0);
        while got < 6 {
            got += sys::read(&master, &mut buf[got..]).unwrap();
        }
        assert_eq!(&buf[..got], b"ping\r\n");
    }

    #[test]
    fn winsize_round_trip_and_copy() {
        let (master, slave) = open_pty().unwrap();
        let ws = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 640,
            ws_ypixel: 480,
        };
        term::set_winsize(&master, &ws).unwrap();
        let got = term::get_winsize(&slave).unwrap();
        assert_eq!((got.ws_row, got.ws_col, got.ws_xpixel), (24, 80, 640));
        let (other, _other_slave) = open_pty().unwrap();
        copy_winsize(slave.as_raw_fd(), other.as_raw_fd());
        assert_eq!(term::get_winsize(&other).unwrap().ws_col, 80);
    }

    #[test]
    fn a_descriptor_passes_over_a_socket() {
        let (a, b) = sys::seqpacket_pair().unwrap();
        let (mut pipe_r, pipe_w) = std::io::pipe().unwrap();
        assert_eq!(pty::send_fd(&a, &pipe_w, b"m").unwrap(), 1);
        drop(pipe_w);
        let mut buf = [0u8; 4];
        let (n, fd) = pty::recv_fd(&b, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"m");
        let fd = fd.expect("a descriptor");
        assert_eq!(term::write_data(&fd, b"through").unwrap(), 7);
        drop(fd);
        let mut got = String::new();
        pipe_r.read_to_string(&mut got).unwrap();
        assert_eq!(got, "through");
        // A message without one.
        sys::send(&a, b"x").unwrap();
        let (n, fd) = pty::recv_fd(&b, &mut buf).unwrap();
        assert_eq!((n, fd.is_none()), (1, true));
    }

    #[test]
    fn attach_gives_a_cloned_process_its_controlling_terminal() {
        let (master, slave) = open_pty().unwrap();
        let mut slave = Some(slave);
        let top = clone::stack().unwrap();
        // In the child (a copy of this process): nothing here allocates unless it fails.
        let mut body = || -> i32 {
            if attach(slave.take().unwrap()).is_err() {
                return 1;
            }
            // /dev/tty opens only for a process with a controlling terminal.
            let Ok(tty) = fs::openat(libc::AT_FDCWD, c"/dev/tty", libc::O_RDWR, 0) else {
                return 2;
            };
            if !(term::is_terminal(&0) && term::is_terminal(&2))
                || term::write_data(&tty, b"via-tty ").is_err()
            {
                return 3;
            }
            match term::write_data(&1, b"via-1") {
                Ok(5) => 0,
                _ => 4,
            }
        };
        let pid = clone::spawn(clone::How::Clone, 0, top, &mut body).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(exit) = process::wait_nohang(pid).unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "the child did not end");
            process::sleep(Duration::from_millis(5));
        };
        assert_eq!(exit, Exit::Code(0));
        // Two writes: one read of the master or two. The slave stays open here (the parent's
        // copy), so a read waits rather than failing.
        let (mut buf, mut n) = ([0u8; 64], 0);
        while n < 13 {
            n += sys::read(&master, &mut buf[n..]).unwrap();
        }
        assert_eq!(&buf[..n], b"via-tty via-1");
    }

    /// Blocks `signals` in this thread for one test; on drop takes any still pending (a
    /// failed test could leave one, and unblocking SIGUSR1 would end the test process), then
    /// puts the mask back.
    struct Blocked {
        set: SigSet,
        old: SigSet,
    }

    impl Blocked {
        fn new(signals: &[i32]) -> Self {
            let set = SigSet::of(signals);
            Blocked {
                set,
                old: signal::block(set).unwrap(),
            }
        }
    }

    impl Drop for Blocked {
        fn drop(&mut self) {
            if let Ok(fd) = term::signalfd(self.set) {
                let _ = term::set_nonblocking(&fd, true);
                while term::read_signal(&fd).is_ok() {}
            }
            signal::set_mask(self.old).unwrap();
        }
    }

    /// A realtime signal: numbered above SIGWINCH, so the kernel hands it out after it.
    const LAST: i32 = 40;

    /// Whether `fd` (non-blocking) has `want` to read now.
    fn reads(fd: &OwnedFd, want: &[u8]) -> bool {
        let mut buf = [0u8; 64];
        match sys::read(fd, &mut buf) {
            Ok(n) => &buf[..n] == want,
            Err(_) => false,
        }
    }

    // Signals go to this thread only (tgkill) and are blocked in it only: each test stands
    // alone although cargo runs tests in threads of one process.

    #[test]
    fn relay_passes_on_what_the_master_holds_when_it_stops() {
        let _blocked = Blocked::new(&[libc::SIGUSR1]);
        let sfd = term::signalfd(SigSet::of(&[libc::SIGUSR1])).unwrap();
        let (master, slave) = open_pty().unwrap();
        let (mut out_r, out_w) = std::io::pipe().unwrap();
        assert_eq!(term::write_data(&slave, b"hello\n").unwrap(), 6);
        drop(slave);
        term::raise_in_thread(libc::SIGUSR1).unwrap();
        let mut calls = 0;
        let v = relay(&master, None, &mut FdSink(out_w.as_raw_fd()), &sfd, |s| {
            calls += 1;
            assert_eq!(s.signo, libc::SIGUSR1);
            Ok(Some(42))
        })
        .unwrap();
        assert_eq!((v, calls), (42, 1));
        drop(out_w);
        let mut got = String::new();
        out_r.read_to_string(&mut got).unwrap();
        assert_eq!(got, "hello\r\n");
    }

    #[test]
    fn relay_forwards_input_and_the_window_size() {
        let _blocked = Blocked::new(&[libc::SIGWINCH, LAST]);
        let sfd = term::signalfd(SigSet::of(&[libc::SIGWINCH, LAST])).unwrap();
        let (master, slave) = open_pty().unwrap();
        // The caller's terminal: a second pty, whose slave is the input.
        let (caller, input) = open_pty().unwrap();
        let ws = libc::winsize {
            ws_row: 33,
            ws_col: 77,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        term::set_winsize(&caller, &ws).unwrap();
        term::write_data(&caller, b"abc\n").unwrap();
        // No echo: it reaches the master a little after the line is readable (one write per
        // character), which would make the output depend on timing.
        let mut t = term::get_attr(&slave).unwrap();
        t.c_lflag &= !libc::ECHO;
        term::set_attr(&slave, &t).unwrap();
        term::set_nonblocking(&slave, true).unwrap();
        let (mut out_r, out_w) = std::io::pipe().unwrap();
        term::raise_in_thread(libc::SIGWINCH).unwrap();
        term::raise_in_thread(LAST).unwrap();
        let mut seen = Vec::new();
        relay(
            &master,
            Some(input.as_raw_fd()),
            &mut FdSink(out_w.as_raw_fd()),
            &sfd,
            |s| {
                seen.push(s.signo);
                assert!(
                    seen.len() < 100_000,
                    "the input never reached the container"
                );
                if reads(&slave, b"abc\n") {
                    // The container answers; the drain must pass it on.
                    term::write_data(&slave, b"got it\n").unwrap();
                    return Ok(Some(()));
                }
                term::raise_in_thread(LAST).unwrap();
                Ok(None)
            },
        )
        .unwrap();
        assert!(!seen.contains(&libc::SIGWINCH), "{seen:?}");
        let got = term::get_winsize(&master).unwrap();
        assert_eq!((got.ws_row, got.ws_col), (33, 77));
        drop(out_w);
        let mut got = String::new();
        out_r.read_to_string(&mut got).unwrap();
        assert_eq!(got, "got it\r\n");
    }

    #[test]
    fn relay_goes_on_after_the_output_is_gone() {
        let _blocked = Blocked::new(&[libc::SIGUSR2]);
        let sfd = term::signalfd(SigSet::of(&[libc::SIGUSR2])).unwrap();
        let (master, slave) = open_pty().unwrap();
        term::set_nonblocking(&slave, true).unwrap();
        let (out_r, out_w) = std::io::pipe().unwrap();
        drop(out_r);
        let (in_r, mut in_w) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut in_w, b"x\n").unwrap();
        drop(in_w);
        term::write_data(&slave, b"lost\n").unwrap();
        term::raise_in_thread(libc::SIGUSR2).unwrap();
        let mut calls = 0;
        let v = relay(
            &master,
            Some(in_r.as_raw_fd()),
            &mut FdSink(out_w.as_raw_fd()),
            &sfd,
            |_| {
                calls += 1;
                assert!(calls < 100_000, "the input never reached the container");
                if reads(&slave, b"x\n") {
                    return Ok(Some(7));
                }
                term::raise_in_thread(libc::SIGUSR2).unwrap();
                Ok(None)
            },
        )
        .unwrap();
        assert_eq!(v, 7);
    }
}
