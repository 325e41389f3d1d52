"""Email reminders (电子邮件告知) and appointment confirmations: outbox, templates, SMTP, .ics."""
