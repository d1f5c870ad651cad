/**
 * Node-only helpers the package's Node entry re-exports: files as upload sources and download sinks, and Node
 * stream adapters (Readable, Writable, Duplex) for libvirt streams. The browser-safe core never imports this.
 */
export { allZeroNative, fileSink, fileSource, FILE_READ_SIZE, type FileSink, type FileSinkOptions, type FileSource } from './files.js';
export { nodeWritableSink, toNodeDuplex, toNodeReadable, toNodeWritable } from './streams.js';
