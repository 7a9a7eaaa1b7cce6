"""A small Flask app for tests and benchmarks.

Serve it with `--wsgi-file examples/flask_app.py` (uWSGI and nuwsgi look for
`application`) or `--module flask_app:app` from this directory.
"""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello from Flask"


@app.route("/json")
def json_view():
    return jsonify(message="hello", items=[1, 2, 3], query=request.args.to_dict())


@app.route("/echo", methods=["POST"])
def echo():
    # Echo the raw body back with the same content type.
    data = request.get_data()
    return data, 200, {"Content-Type": request.content_type or "application/octet-stream"}


@app.route("/users/<int:user_id>/posts/<slug>")
def user_post(user_id, slug):
    return jsonify(user_id=user_id, slug=slug)


application = app
