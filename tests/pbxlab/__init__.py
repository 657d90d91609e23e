"""The PBX lab: the real Asterisk kit, scripted SIP phones and the features an office uses.

``kit`` starts and stops Asterisk, ``ami`` records the raw AMI stream as telmon
would receive it, ``scenarios`` drives each office feature with SIP phones and
writes down what the phones' own clocks saw (the ground truth), ``capture`` turns
that into the committed captures under ``tests/data/pbx/``.
"""
