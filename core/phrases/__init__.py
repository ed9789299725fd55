"""Music phrases: 2-8 bar segmentation, the networks' features, the `Song` holding both."""
