"""Green-channel passes (绿色通道通行证): application, approval, signed QR, verification, revocation."""
