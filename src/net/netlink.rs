//! A small synchronous rtnetlink client on neli's `NlSocketHandle` (not `NlRouter`, which
//! starts a thread: nsbox has none).
//!
//! Every request asks for an ACK and waits for it, so each one succeeds or fails on its own
//! line: a failure becomes `RTM_NEWLINK veth "nsb0a1b2c3": EEXIST (File exists)`, with the
//! kernel's extended-ack text when it gives one. `--trace` shows each request and its answer.

use super::message::Message;
use crate::error::{Error, Result};
use crate::sys::lifecycle;
use crate::trace;
use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::rtnl::Rtm;
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;
use std::os::fd::{AsFd, AsRawFd};
use syscalls::Errno;

/// An rtnetlink socket in one network namespace.
pub struct Netlink {
    sock: NlSocketHandle,
    seq: u32,
    /// Whose namespace the socket lives in ("host" or "container"), for the trace.
    side: &'static str,
}

/// A request, as the trace and the errors name it: `RTM_NEWADDR 10.0.0.1/24 on "nsb0a1b2c3"`.
pub struct Request {
    pub kind: Rtm,
    pub flags: NlmF,
    pub payload: Message,
    pub what: String,
}

impl Netlink {
    /// A socket in nsbox's own network namespace.
    pub fn open(side: &'static str) -> Result<Netlink> {
        let sock = NlSocketHandle::connect(NlFamily::Route, None, Groups::empty())
            .map_err(|e| socket_error("open an rtnetlink socket (socket, bind)", e))?;
        // The kernel then says what was wrong with a request, not only an errno.
        sock.enable_ext_ack(true)
            .map_err(|e| socket_error("setsockopt(NETLINK_EXT_ACK)", e))?;
        Ok(Netlink { sock, seq: 0, side })
    }

    /// A socket in the network namespace `netns`: nsbox enters it for the socket() call only
    /// and goes straight back to `home` (a socket stays in the namespace it was made in).
    pub fn open_in(netns: &impl AsFd, home: &impl AsFd, side: &'static str) -> Result<Netlink> {
        trace::step(|| format!("open a netlink socket in the {side}'s network namespace"));
        lifecycle::setns(&netns.as_fd().as_raw_fd(), libc::CLONE_NEWNET)
            .map_err(|e| Error::sys(format!("setns into the {side}'s network namespace"), e))?;
        let sock = Netlink::open(side);
        lifecycle::setns(&home.as_fd().as_raw_fd(), libc::CLONE_NEWNET)
            .map_err(|e| Error::sys("setns back into nsbox's own network namespace", e))?;
        sock
    }

    /// Sends `req` and waits for its ACK.
    pub fn ack(&mut self, req: Request) -> Result<()> {
        self.request(req).map(drop)
    }

    /// Sends `req` and returns what the kernel sent before its ACK (with NLM_F_ECHO: the
    /// object made).
    pub fn request(&mut self, req: Request) -> Result<Vec<Buffer>> {
        let what = req.what.clone();
        let mut all = Vec::new();
        self.exchange(req, &mut |payload| {
            all.push(payload);
            Ok(())
        })
        .map_err(|e| e.into_error(&what))?;
        Ok(all)
    }

    /// Sends a dump request (`NLM_F_DUMP`) and returns the payload of every answer. A dump the
    /// kernel marks interrupted (the table changed under it: NLM_F_DUMP_INTR) is asked again.
    pub fn dump(&mut self, mut req: Request) -> Result<Vec<Buffer>> {
        req.flags |= NlmF::DUMP;
        let what = req.what.clone();
        let mut tries = 0;
        loop {
            let mut all = Vec::new();
            let again = Request {
                payload: req.payload.clone(),
                what: req.what.clone(),
                ..req
            };
            match self.exchange(again, &mut |payload| {
                all.push(payload);
                Ok(())
            }) {
                Ok(_) => return Ok(all),
                Err(Failure::Interrupted) if tries < 3 => tries += 1,
                Err(e) => return Err(e.into_error(&what)),
            }
        }
    }

    /// Sends a get request for one object; `None` when the kernel says there is none (ENODEV).
    pub fn get(&mut self, req: Request) -> Result<Option<Buffer>> {
        let what = req.what.clone();
        let mut found = None;
        match self.exchange(req, &mut |payload| {
            found = Some(payload);
            Ok(())
        }) {
            Ok(_) => Ok(found),
            Err(Failure::Kernel(Errno::ENODEV, _)) => Ok(None),
            Err(e) => Err(e.into_error(&what)),
        }
    }

    /// One request and all of its answers, up to the ACK (or NLMSG_DONE for a dump).
    fn exchange(
        &mut self,
        req: Request,
        on_data: &mut dyn FnMut(Buffer) -> std::result::Result<(), Failure>,
    ) -> std::result::Result<usize, Failure> {
        let t0 = trace::clock();
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let msg = NlmsghdrBuilder::default()
            .nl_type(req.kind)
            .nl_flags(req.flags | NlmF::REQUEST | NlmF::ACK)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(Buffer::from(req.payload.into_bytes())))
            .build()
            .map_err(|e| Failure::Local(format!("build the message: {e}")))?;
        let result = self.send_and_collect(&msg, seq, on_data);
        if trace::enabled() {
            let answer = match &result {
                Ok(0) if !req.flags.contains(NlmF::DUMP) => "ACK".to_string(),
                Ok(n) if !req.flags.contains(NlmF::DUMP) => format!("{n} answer(s), then ACK"),
                Ok(n) => format!("{n} answer(s), then done"),
                Err(f) => f.text(),
            };
            trace::netlink(t0, self.side, &req.what, &answer);
        }
        result
    }

    fn send_and_collect(
        &mut self,
        msg: &Nlmsghdr<Rtm, Buffer>,
        seq: u32,
        on_data: &mut dyn FnMut(Buffer) -> std::result::Result<(), Failure>,
    ) -> std::result::Result<usize, Failure> {
        self.sock.send(msg).map_err(Failure::from_socket)?;
        let mut answers = 0;
        let mut interrupted = false;
        loop {
            let (msgs, _) = self
                .sock
                .recv::<u16, Buffer>()
                .map_err(Failure::from_socket)?;
            for m in msgs {
                let m = m.map_err(Failure::from_socket)?;
                if *m.nl_seq() != seq {
                    continue; // an answer to an earlier request that gave up
                }
                if m.nl_flags().contains(NlmF::DUMP_INTR) {
                    interrupted = true;
                }
                match m.nl_payload() {
                    NlPayload::Ack(_) => return Ok(answers),
                    NlPayload::Err(e) => {
                        let text = e.ext_ack().iter().find_map(|a| {
                            (*a.nla_type().nla_type() == NlmsgerrAttr::Msg)
                                .then(|| ack_text(a.nla_payload().as_ref()))
                        });
                        return Err(Failure::Kernel(Errno::new(-e.error()), text));
                    }
                    NlPayload::DumpExtAck(e) if *e.error() < 0 => {
                        return Err(Failure::Kernel(Errno::new(-e.error()), None));
                    }
                    NlPayload::Empty | NlPayload::DumpExtAck(_) if interrupted => {
                        return Err(Failure::Interrupted);
                    }
                    NlPayload::Empty | NlPayload::DumpExtAck(_) => return Ok(answers),
                    NlPayload::Payload(p) => {
                        answers += 1;
                        on_data(Buffer::from(p.as_ref()))?;
                    }
                }
            }
        }
    }
}

/// The NUL-terminated text of an extended ACK.
fn ack_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Why a request failed: the kernel's errno (and its words), or a local failure.
enum Failure {
    Kernel(Errno, Option<String>),
    /// A dump the kernel marked inconsistent (NLM_F_DUMP_INTR): asked again.
    Interrupted,
    Local(String),
}

impl Failure {
    fn from_socket(e: SocketError) -> Failure {
        match &e {
            SocketError::Io(io) => match io.raw_os_error() {
                Some(n) => Failure::Kernel(Errno::new(n), None),
                None => Failure::Local("an I/O error without an errno".into()),
            },
            // neli could not encode or decode a message (its own words would cost the binary
            // kilobytes of formatting code for an answer the kernel never gives).
            _ => Failure::Local("a netlink message nsbox could not encode or decode".into()),
        }
    }

    fn text(&self) -> String {
        match self {
            Failure::Kernel(e, None) => crate::error::errno_text(*e),
            Failure::Kernel(e, Some(t)) => format!("{} \"{t}\"", crate::error::errno_text(*e)),
            Failure::Interrupted => "interrupted (NLM_F_DUMP_INTR)".into(),
            Failure::Local(t) => t.clone(),
        }
    }

    fn into_error(self, what: &str) -> Error {
        match self {
            Failure::Kernel(e, text) => {
                let mut err = Error::sys(what, e);
                err.why = text.map(|t| format!("the kernel says \"{t}\""));
                err
            }
            Failure::Interrupted => Error::new(
                what,
                "the kernel interrupted the dump 3 times (the table kept changing)",
            ),
            Failure::Local(t) => Error::new(what, t),
        }
    }
}

fn socket_error(what: &str, e: SocketError) -> Error {
    Failure::from_socket(e).into_error(what)
}
