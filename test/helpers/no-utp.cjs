// Stands in for utp-native under vitest, as bundle.mjs does in the bundle: no uTP, webtorrent uses TCP.
module.exports = {};
