# Paperboy: one image for web, worker and beat (see compose.yaml).
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /venv
COPY pyproject.toml README.md ./
COPY config config
COPY subscriptions subscriptions
COPY digest digest
RUN /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 paperboy
WORKDIR /app
COPY --from=build /venv /venv
# The source goes in /app too: settings find templates/ and staticfiles/ beside config/.
COPY manage.py ./
COPY config config
COPY subscriptions subscriptions
COPY digest digest
COPY templates templates
ENV PATH="/venv/bin:$PATH" PYTHONUNBUFFERED=1 DJANGO_DEBUG=false PAPERBOY_VAR_DIR=/tmp/paperboy
# collectstatic needs settings but no secrets or database.
RUN DJANGO_SECRET_KEY=build-only SITE_URL=https://build.invalid python manage.py collectstatic --noinput \
    && rm -rf /tmp/paperboy
USER paperboy
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
