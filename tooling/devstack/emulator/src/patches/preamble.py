# The local cloud's engine: moto's server as the local cloud runs it
# (`python -c` with this folder's files, one program in lib.rs's order),
# served as forks of one warm process (see `_engine`), with measured changes
# to how it runs (garbage collection, transaction backups, table writes one
# at a time, queries by partition, item answers written directly, input
# paths parsed once, sends that do not count the queue, receives that read
# the clock once, templates read as JSON, signing keys made once), and to
# what it answers only where moto's answer is missing or is not what AWS
# documents (EventBridge's TestEventPattern, replays and disabled rules,
# IAM's role (inline and managed), Lambda's function and KMS's key policies,
# SQS's queue policies and S3's CORS in CloudFormation, SNS's deliveries to
# queues and Step Functions' tasks judged by the local cloud, Cognito's
# federated users).
import argparse
import copy
import gc
import json
import os
import select
import signal
import socket
import sys
import threading
from collections import defaultdict

# Python's cyclic collector runs less often: its full collections walk the
# whole heap (every stack, table and stream record the local cloud made)
# and stopped every call for up to 200 ms. Young garbage is still
# collected, and reference counting frees the rest as usual.
gc.set_threshold(100000, 50, 100)
