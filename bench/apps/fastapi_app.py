"""FastAPI JSON endpoint for bench/run.mjs --apps fastapi (Debian's python3-fastapi)."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root():
    return {"message": "Hello, World!", "items": [1, 2, 3]}
