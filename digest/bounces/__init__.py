"""What comes back after a digest was sent: bounces (RFC 3464 and the common non-standard
formats), complaints (ARF, RFC 5965) and auto-replies, read from a mailbox (imap.py) or received
over SMTP (smtp_endpoint.py), tied to their delivery by the signed VERP envelope sender
(verp.py), classified (parse.py) and acted on (actions.py)."""
