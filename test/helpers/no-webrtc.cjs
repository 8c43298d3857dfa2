// Stands in for webrtc-polyfill and utp-native under vitest, as bundle.mjs does in the bundle (TCP peers only).
class NoWebRtc {
  constructor() {
    throw new Error('WebRTC is not available in tests: TCP peers only');
  }
}
module.exports = { RTCPeerConnection: NoWebRtc, RTCSessionDescription: NoWebRtc, RTCIceCandidate: NoWebRtc, RTCDataChannel: NoWebRtc };
