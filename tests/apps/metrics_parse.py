"""Parses a metrics exposition with prometheus_client's own parsers (from PyPI) and prints one line per sample:
NAME<TAB>sorted labels as k=v,k=v<TAB>value. Usage: python metrics_parse.py {text|openmetrics} < exposition"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families as text_families

data = sys.stdin.read()
families = openmetrics_families(data) if sys.argv[1] == 'openmetrics' else text_families(data)
for family in families:
    for s in family.samples:
        labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))
        print('%s\t%s\t%r' % (s.name, labels, float(s.value)))
