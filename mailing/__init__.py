"""Putting mail on the wire: the email backend every message leaves through (digests and the
web's emails alike), which sets the envelope sender a message asks for and signs it with DKIM.
Knows nothing of subscribers or digests, so both apps can rely on it."""
