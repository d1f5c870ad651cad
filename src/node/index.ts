/**
 * `libvirt-rpc/node`: the Node helpers, which the package's main entry re-exports: `connect(uri)` (importing
 * this installs the URI opener), files as upload sources and download sinks, and Node stream adapters
 * (Readable, Writable, Duplex) for libvirt streams. It leaves out what the main entry adds (the typed procedure
 * API, events, the scheduler, diagnostics), so a program that only moves volumes loads less. The browser-safe
 * core never imports this.
 */
export { connect, type NodeConnectOptions } from './connect.js';
export { allZeroNative, fileSink, fileSource, FILE_READ_SIZE, type FileSink, type FileSinkOptions, type FileSource } from './files.js';
export { nodeWritableSink, toNodeDuplex, toNodeReadable, toNodeWritable } from './streams.js';
