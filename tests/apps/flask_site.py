import hashlib

from flask import Flask, Response, jsonify, redirect, request, stream_with_context, url_for

app = Flask(__name__)


@app.route('/')
def index():
    return 'flask index'


@app.route('/hello/<name>')
def hello(name):
    return 'Hello %s' % name


@app.route('/url')
def url():
    return url_for('hello', name='x')


@app.route('/json', methods=['POST'])
def json_post():
    data = request.get_json()
    return jsonify(received=data, total=sum(data.get('numbers', [])))


@app.route('/upload', methods=['POST'])
def upload():
    f = request.files['file']
    content = f.read()
    return '%s %d %s %s' % (f.filename, len(content), hashlib.sha256(content).hexdigest(), request.form.get('note'))


@app.route('/redirect')
def go():
    return redirect(url_for('index'))


@app.route('/stream')
def stream():
    def gen():
        for i in range(5):
            yield 'line %d\n' % i
    return Response(stream_with_context(gen()), mimetype='text/plain')
