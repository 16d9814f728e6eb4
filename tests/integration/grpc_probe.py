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


def _len_prefixed(num, payload):
    """One length-delimited field of a serialized message."""
    out, n = bytearray([num << 3 | 2]), len(payload)
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out) + payload


def reflect_service(socket_path, service, timeout=5):
    """The ServiceDescriptor of `service`, built from the server's reflection
    alone (as grpcurl does), with the pool its message types live in."""
    from google.protobuf import descriptor_pb2, descriptor_pool
    with grpc.insecure_channel("unix:" + socket_path) as ch:
        info = ch.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        # ServerReflectionRequest{file_containing_symbol (field 4)}
        replies = list(info(iter([_len_prefixed(4, service.encode())]), timeout=timeout))
    files = []
    for reply in replies:
        for n, _, v in _fields(reply):
            if n == 4:  # file_descriptor_response
                files += [descriptor_pb2.FileDescriptorProto.FromString(f) for n2, _, f in _fields(v) if n2 == 1]
    pool, added = descriptor_pool.DescriptorPool(), set()
    while len(added) < len(files):  # dependencies first, in whatever order they came
        progress = False
        for f in files:
            if f.name not in added and all(d in added for d in f.dependency):
                pool.Add(f)
                added.add(f.name)
                progress = True
        if not progress:
            raise RuntimeError("reflection left dependencies out: %s" % [f.dependency for f in files])
    return pool, pool.FindServiceByName(service)


def call(socket_path, pool, method, request, timeout=30):
    """Calls `method` (a MethodDescriptor) with `request` (a dict in the
    protobuf JSON mapping, or a list of them for a client stream). Answers
    the reply as a dict, or a list of dicts for a server stream."""
    from google.protobuf import json_format, message_factory
    factory = message_factory.MessageFactory(pool)
    req_cls = factory.GetPrototype(method.input_type)
    resp_cls = factory.GetPrototype(method.output_type)
    path = "/%s/%s" % (method.containing_service.full_name, method.name)

    def to_msg(d):
        return json_format.ParseDict(d, req_cls())

    def to_dict(m):
        return json_format.MessageToDict(m)

    with grpc.insecure_channel("unix:" + socket_path) as ch:
        kwargs = dict(request_serializer=req_cls.SerializeToString, response_deserializer=resp_cls.FromString)
        if method.client_streaming:
            rpc = ch.stream_stream(path, **kwargs)
            return [to_dict(m) for m in rpc(iter([to_msg(d) for d in request]), timeout=timeout)]
        if method.server_streaming:
            rpc = ch.unary_stream(path, **kwargs)
            return [to_dict(m) for m in rpc(to_msg(request), timeout=timeout)]
        return to_dict(ch.unary_unary(path, **kwargs)(to_msg(request), timeout=timeout))
