"""The sandbox servers' listening socket: loopback only, and no Nagle delay on answers."""

from __future__ import annotations

import socket

from huesign.sandbox import bind_loopback


def _nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_listening_socket_has_tcp_nodelay() -> None:
    with bind_loopback() as sock:
        assert _nodelay(sock)


def test_accepted_connections_inherit_tcp_nodelay() -> None:
    with bind_loopback() as listener:
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]) as _client:
            accepted, _ = listener.accept()
            with accepted:
                assert _nodelay(accepted)


def test_socket_is_marked_tcp_so_asyncio_treats_accepted_sockets_as_tcp() -> None:
    with bind_loopback() as sock:
        assert sock.proto == socket.IPPROTO_TCP


def test_socket_is_bound_to_loopback_on_a_free_port() -> None:
    with bind_loopback() as sock:
        host, port = sock.getsockname()[:2]
        assert host == "127.0.0.1"
        assert port > 0
