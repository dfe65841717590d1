"""An S3-compatible server for the replay blob store's tests: moto (PyPI) in server mode on a
free loopback port, with one bucket made. Prints `listening on <port>`, then serves until
killed. Usage: s3.py <bucket>"""

import sys
import time

import boto3
from moto.server import ThreadedMotoServer

bucket = sys.argv[1]
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
_, port = server.get_host_and_port()
boto3.client(
    "s3",
    endpoint_url=f"http://127.0.0.1:{port}",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    region_name="us-east-1",
).create_bucket(Bucket=bucket)
print(f"listening on {port}", flush=True)
while True:
    time.sleep(3600)
