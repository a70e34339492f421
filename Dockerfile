# The API image: CPU-only torch, the project and its shipped models; no download at run time.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 QA_DATA_DIR=/data
WORKDIR /app

RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY qa ./qa
COPY index ./index
COPY api ./api
COPY cli ./cli
COPY training ./training
COPY eval ./eval
RUN pip install .

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8000/health').json()['status']!='ok')"
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
