# Two stages: the first builds the wheel (templates, default rules and demo inside it), the
# second installs only that wheel. Pinned base: python:3.11.11-slim-bookworm.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md mailbox_rules.yaml ./
COPY service ./service
COPY parsers ./parsers
COPY templates ./templates
COPY demo ./demo
RUN pip install --no-cache-dir --upgrade pip && pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MINUTESD_DATA_DIR=/data
RUN useradd --create-home --uid 10001 minutesd && mkdir /data && chown minutesd /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER minutesd
WORKDIR /home/minutesd
VOLUME ["/data"]
# The rules a company edits: mount a file and set MINUTESD_RULES; the wheel's copy is the default.
HEALTHCHECK --interval=5m --timeout=30s --start-period=30s CMD ["minutesd", "check"]
ENTRYPOINT ["minutesd"]
CMD ["run"]
