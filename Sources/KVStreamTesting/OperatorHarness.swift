import KVStream
