"""Email channel: outbound SMTP (inbound parsing joins here)."""
