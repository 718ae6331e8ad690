# One image for the three services and the `dx` command: docker-compose picks the module to run.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY dx ./dx
# /data: the on-call receiver's notifications (a named volume in docker-compose.yml takes this owner).
RUN pip install . && useradd --system --uid 10001 dxmon && mkdir /data && chown dxmon /data
USER dxmon
# Overridden per service in docker-compose.yml: python -m services.collector | aggregator | alerter | oncall
CMD ["python", "-m", "services.collector"]
