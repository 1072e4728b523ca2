"""A small Python client of the faultline broker, protocol v1.

The messages and stubs are generated from proto/faultline/v1/broker.proto at
build time (faultline.v1.broker_pb2, broker_pb2_grpc), the protocol's
constants from proto/faultline/v1/wire.h (faultline.v1.wire). Every call has
a deadline, so no call waits forever on a stuck broker; a failed call raises
BrokerError with the broker's status code and message.
"""

import grpc

from faultline.v1 import broker_pb2 as pb
from faultline.v1 import broker_pb2_grpc as rpc
from faultline.v1 import wire


class BrokerError(Exception):
    """A call the broker refused or failed: .code is a grpc.StatusCode."""

    def __init__(self, call, error):
        self.code = error.code()
        self.details = error.details()
        super().__init__(f"{call}: {self.code.name}: {self.details}")


def _region(region_id, base, pages, kind, name):
    return pb.Region(region_id=region_id, name=name, kind=kind,
                     guest_physical_base=base,
                     size_bytes=pages * wire.kPageBytes,
                     page_size=wire.kPageBytes)


def pattern_region(region_id, base, pages, seed, name="ram"):
    """A RAM region served by the broker's pattern source."""
    region = _region(region_id, base, pages, pb.REGION_KIND_RAM, name)
    region.source.pattern.seed = seed
    return region


def store_region(region_id, base, pages, store, name="disk"):
    """A RAM region backed by a page store (filled with put_pages)."""
    region = _region(region_id, base, pages, pb.REGION_KIND_RAM, name)
    region.source.store.store = store
    return region


def device_region(region_id, base, pages, pool, frames,
                  policy=pb.FRAME_POLICY_IDENTITY, sharing=pb.SHARING_SHARED,
                  name="bar"):
    """A device memory region (a PCI BAR) backed by a frame pool."""
    region = _region(region_id, base, pages, pb.REGION_KIND_DEVICE_MEMORY,
                     name)
    device = region.source.device
    device.pool = pool
    device.frame_count = frames
    device.policy = policy
    device.sharing = sharing
    return region


class Broker:
    """A connection to one broker: "unix:PATH" or "HOST:PORT"."""

    def __init__(self, address, timeout=10.0):
        self.address = address
        self.timeout = timeout
        self._channel = grpc.insecure_channel(address)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise ConnectionError(
                f"broker at {address} unreachable within {timeout} s")
        self._faults = rpc.FaultBrokerStub(self._channel)
        self._admin = rpc.BrokerAdminStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.close()

    def _call(self, name, method, request, session=None):
        metadata = None
        if session is not None:
            metadata = ((wire.kSessionTokenKey, session.session_token),)
        try:
            return method(request, timeout=self.timeout, metadata=metadata)
        except grpc.RpcError as error:
            raise BrokerError(name, error) from None

    # FaultBroker: attach, resolve, detach.

    def attach(self, vm_name, regions, vcpu_count=1, vm_token=""):
        """Attaches a VM; returns the AttachResponse (the session)."""
        request = pb.AttachRequest(protocol_version=wire.kProtocolVersion,
                                   vm_name=vm_name, vcpu_count=vcpu_count,
                                   vm_token=vm_token)
        request.regions.extend(regions)
        return self._call("Attach", self._faults.Attach, request)

    def resolve(self, session, region_id, offset, fault_id=1,
                prefetch_hint=0):
        """One fault, answered inline: returns the FaultAnswer."""
        request = pb.ResolveFaultRequest(session_id=session.session_id)
        request.fault.fault_id = fault_id
        request.fault.region_id = region_id
        request.fault.offset = offset
        request.fault.prefetch_hint = min(prefetch_hint,
                                          wire.kMaxPrefetchPages)
        return self._call("ResolveFault", self._faults.ResolveFault, request,
                          session)

    def detach(self, session):
        self._call("Detach", self._faults.Detach,
                   pb.DetachRequest(session_id=session.session_id), session)

    # BrokerAdmin: sessions and statistics.

    def sessions(self):
        return self._call("ListSessions", self._admin.ListSessions,
                          pb.ListSessionsRequest()).sessions

    def stats(self, session_id=""):
        return self._call("GetStats", self._admin.GetStats,
                          pb.GetStatsRequest(session_id=session_id))

    # BrokerAdmin: device pools and frames.

    def pools(self):
        return self._call("ListPools", self._admin.ListPools,
                          pb.ListPoolsRequest()).pools

    def read_frames(self, pool, first, count):
        return self._call("ReadFrames", self._admin.ReadFrames,
                          pb.ReadFramesRequest(pool=pool, first_frame=first,
                                               frame_count=count)).data

    def write_frames(self, pool, first, data):
        self._call("WriteFrames", self._admin.WriteFrames,
                   pb.WriteFramesRequest(pool=pool, first_frame=first,
                                         data=data))

    # BrokerAdmin: page stores.

    def put_pages(self, store, data, offset=0, pages_per_message=256):
        """Stores `data` (a whole number of pages) at `offset`; returns the
        number of pages written."""
        if len(data) % wire.kPageBytes != 0:
            raise ValueError(f"{len(data)} bytes is not a whole number of "
                             f"{wire.kPageBytes}-byte pages")
        chunk = min(pages_per_message * wire.kPageBytes,
                    wire.kMaxPutPagesBytes)

        def messages():
            for start in range(0, len(data), chunk):
                yield pb.PutPagesRequest(store=store if start == 0 else "",
                                         offset=offset + start,
                                         data=data[start:start + chunk])

        return self._call("PutPages", self._admin.PutPages,
                          messages()).pages_written

    def stores(self):
        """The ListStoresResponse: stores with their pages, the backend, the
        limits."""
        return self._call("ListStores", self._admin.ListStores,
                          pb.ListStoresRequest())

    def delete_store(self, store):
        """Removes a store; returns how many pages it held."""
        return self._call("DeleteStore", self._admin.DeleteStore,
                          pb.DeleteStoreRequest(store=store)).pages_deleted


def answer_kind(answer):
    """"page", "zero", "frame", "retry" or "error"."""
    return answer.WhichOneof("answer")
