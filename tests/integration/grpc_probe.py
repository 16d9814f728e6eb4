"""Calls grpc.health.v1 and server reflection on a Unix socket with raw
protobuf bytes, so no generated code is needed."""

import grpc


def _varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def _fields(data):
    """(field number, wire type, value) of a serialized message."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(data, i)
        elif wt == 2:
            n, i = _varint(data, i)
            v, i = data[i:i + n], i + n
        else:
            raise ValueError("unexpected wire type %d" % wt)
        yield num, wt, v


def health(socket_path, timeout=5):
    """The serving status number (1 = SERVING) of the server's overall health."""
    with grpc.insecure_channel("unix:" + socket_path) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check")
        reply = check(b"", timeout=timeout)
        status = [v for n, _, v in _fields(reply) if n == 1]
        return status[0] if status else 0


def list_services(socket_path, timeout=5):
    """Service names the server's reflection lists."""
    with grpc.insecure_channel("unix:" + socket_path) as ch:
        info = ch.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        # ServerReflectionRequest{list_services: "" (field 7)}
        replies = list(info(iter([b"\x3a\x00"]), timeout=timeout))
    names = []
    for reply in replies:
        for n, _, v in _fields(reply):
            if n == 6:  # list_services_response
                for n2, _, service in _fields(v):
                    if n2 == 1:
                        names += [sv.decode() for n3, _, sv in _fields(service) if n3 == 1]
    return names
