#!/usr/bin/env python3
"""A real SMTP server for the tests of the reminders by e-mail (aiosmtpd).

Usage: smtp-test-server.py PORT DIR

Listens on 127.0.0.1:PORT and writes each message received to DIR as one JSON file (written whole,
then renamed): envelope sender and recipients, headers, the plain text and HTML bodies, and the
attachments (name, content type, text content). A recipient whose address starts with « inexistant »
is refused for good (550), as a real server refuses a mailbox that does not exist. Runs until SIGTERM
or SIGINT.
"""
import email
import email.policy
import json
import os
import signal
import sys
import threading
import uuid

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, directory):
        self.directory = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("inexistant"):
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)

        def body(kind):
            part = msg.get_body(preferencelist=(kind,))
            return part.get_content() if part is not None else None

        attachments = []
        for part in msg.iter_attachments():
            content = part.get_content()
            if isinstance(content, bytes):
                content = content.decode("utf-8", "replace")
            attachments.append(
                {"filename": part.get_filename(), "content_type": part.get_content_type(), "content": content}
            )
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "text": body("plain"),
            "html": body("html"),
            "attachments": attachments,
        }
        name = uuid.uuid4().hex
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.directory, f"{name}.json"))
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Handler(directory), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"smtp test server on 127.0.0.1:{port}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
