# Two stages: the first builds the wheel (templates, default rules and demo inside it) and
# installs it with its dependencies into a venv at /opt/minutesd; the second copies only that
# venv onto a clean base, as a non-root user. Pinned base: python:3.11.11-slim-bookworm.
# BASE replaces it where no registry can be reached: container/try-image.sh makes a Debian
# bookworm base from Debian packages (python3 3.11 there) and builds with
# --build-arg BASE=localhost/minutesd-base:bookworm. A venv works on both: Debian's own python3
# refuses pip installs outside one (PEP 668), and the venv keeps the service apart from the base.
ARG BASE=python:3.11.11-slim-bookworm

FROM ${BASE} AS build
# pip trusts the system's CA store (ca-certificates, in both bases) rather than its own copy, so a
# build behind a TLS-inspecting proxy can bind-mount its bundle there (container/try-image.sh does).
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir --upgrade pip
COPY pyproject.toml setup.py README.md mailbox_rules.yaml ./
COPY service ./service
COPY parsers ./parsers
COPY templates ./templates
COPY demo ./demo
# The service's venv has no pip or setuptools: the build venv's pip installs into it.
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps -w /wheels . \
 && python3 -m venv --without-pip /opt/minutesd \
 && /opt/build/bin/pip --python /opt/minutesd/bin/python install --no-cache-dir /wheels/*.whl

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8 MINUTESD_DATA_DIR=/data \
    PATH=/opt/minutesd/bin:$PATH
RUN useradd --create-home --uid 10001 minutesd && mkdir /data && chown minutesd /data
COPY --from=build /opt/minutesd /opt/minutesd
USER minutesd
WORKDIR /home/minutesd
VOLUME ["/data"]
# The rules a company edits: mount a file and set MINUTESD_RULES; the wheel's copy is the default.
HEALTHCHECK --interval=5m --timeout=30s --start-period=30s CMD ["minutesd", "check"]
ENTRYPOINT ["minutesd"]
CMD ["run"]
