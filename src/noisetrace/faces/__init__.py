"""Faces: video decoding, the MTCNN cascade, subject tracking, crop geometry and the face cache."""
