#!/usr/bin/env node
import '../dist/create-be-worker.js';
