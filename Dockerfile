# The service in a container: `docker build -t persian-qa . && docker run -p 8000:8000 persian-qa`.
# (Not built in CI: the project's machines have no Docker engine.)
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends gcc libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY qa ./qa
COPY embeddings ./embeddings
COPY api ./api
COPY cli ./cli
COPY seeds ./seeds
# The trained reader's top layers and heads (8.9 MB): it reads Persian and English questions by default
# (QA_READER=trained, QA_READER_LANGUAGES=fa,en) and needs torch, from the CPU index (PyPI's is CUDA, GBs).
COPY models ./models

RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir -e '.[st,postgres]'
# The bundled encoder turned into a transformers model once, in the image (the reader's lower layers).
RUN python -c "from embeddings.e5_encoder import load_encoder; load_encoder()"
# hazm's tables into the image's cache, so `qa serve` starts without importing hazm (~1.8 s).
RUN python -c "from qa import hazm_data; hazm_data.load()"

ENV QA_DATA_DIR=/data
# More server processes on a bigger machine: -e QA_WORKERS=4 (each holds the index and model).
ENV QA_WORKERS=1
VOLUME /data
EXPOSE 8000
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
