"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1:PORT that writes each accepted
message to OUT_DIR as one JSON file (envelope, decoded headers, decoded text body), then answers
250. Prints "ready" once it listens. On SIGTERM it stops as a mail server does: it stops
accepting, lets the sessions in progress finish (so a client always hears the 250 of a message
that was written), and exits. With USER:PASSWORD it requires AUTH with those credentials.

Usage: python3 smtp_sink.py PORT OUT_DIR [USER:PASSWORD]
"""

import asyncio
import itertools
import json
import logging
import os
import signal
import sys
import time
import warnings
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, AuthResult

_counter = itertools.count()

# AUTH without TLS is what the credentials test wants on loopback; keep the test output clean.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "message_id": msg.get("Message-ID"),
            "from": msg.get("From"),
            "to": msg.get("To"),
            "reply_to": msg.get("Reply-To"),
            "subject": msg.get("Subject"),
            "body": body.get_content() if body is not None else None,
            "login": session.auth_data,
        }
        # Written under a temporary name and renamed, so a reader never sees half a file.
        name = "%d-%d-%d" % (time.time_ns(), os.getpid(), next(_counter))
        tmp = os.path.join(self.out_dir, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.out_dir, name + ".json"))
        return "250 Message accepted for delivery"


class Session(SMTP):
    """Counts open sessions, so that a stop can wait for them."""

    active = 0

    def connection_made(self, transport):
        Session.active += 1
        super().connection_made(transport)

    def connection_lost(self, exc):
        Session.active -= 1
        super().connection_lost(exc)


def authenticator(credentials):
    user, password = credentials.split(":", 1)

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: aiosmtpd answers 535 itself (its default, True, would answer nothing).
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return check


async def main(port, out_dir, credentials):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    auth = {}
    if credentials:
        auth = dict(
            authenticator=authenticator(credentials),
            auth_required=True,
            auth_require_tls=False,
        )
    server = await loop.create_server(
        lambda: Session(Sink(out_dir), enable_SMTPUTF8=True, hostname="sink.test", **auth),
        host="127.0.0.1",
        port=port,
    )
    print("ready", flush=True)
    await stop.wait()
    server.close()
    for _ in range(500):
        if Session.active == 0:
            break
        await asyncio.sleep(0.01)


if __name__ == "__main__":
    creds = sys.argv[3] if len(sys.argv) > 3 else None
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], creds))
