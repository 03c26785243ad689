# The kafka-access hook server: gunicorn serving the Flask app in hooks/.
# Build from the repository root: docker build -t kafka-access:0.1.0 .
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid/gid so the Deployment's runAsUser matches and runAsNonRoot can
# check it; no home directory, no login shell.
RUN groupadd --system --gid 10001 kafka-access \
 && useradd --system --uid 10001 --gid kafka-access \
      --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \
      kafka-access

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every package
# here ships a manylinux wheel (confluent-kafka bundles librdkafka), so no
# compiler is needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY hooks/ ./hooks/

USER 10001:10001

# The Service sends traffic to 8080 on the pod; outside the image the config
# file's default keeps gunicorn on loopback.
ENV GUNICORN_BIND=0.0.0.0:8080
EXPOSE 8080

CMD ["gunicorn", "--config", "hooks/gunicorn_conf.py", "hooks.wsgi:app"]
