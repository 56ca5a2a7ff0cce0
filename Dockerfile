FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MINUTESD_DATA_DIR=/data MINUTESD_RULES=/app/mailbox_rules.yaml

RUN useradd --create-home --uid 10001 minutesd && mkdir /data && chown minutesd /data
WORKDIR /app
COPY pyproject.toml README.md mailbox_rules.yaml ./
COPY service ./service
COPY parsers ./parsers
COPY templates ./templates
RUN pip install --no-cache-dir .

USER minutesd
VOLUME ["/data"]
# check validates the rules and logs in to IMAP and SMTP (or finds the embedded Maildir).
HEALTHCHECK --interval=5m --timeout=30s --start-period=30s CMD ["minutesd", "check"]
ENTRYPOINT ["minutesd"]
CMD ["run"]
