// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/dialog" (management/univention-web/js/dialog.js, UCS 5.x):
// alert(message, title?, buttonLabel?) -> Deferred resolved on OK; confirm(message|widget,
// options, title?) -> Deferred resolved with the chosen option's name (or its index), its
// callback called with that; confirmForm({widgets, title, submit, close}) -> Deferred of
// the form's values, cancelled on close; notify/contextNotify show a message for a while.
// Messages are HTML, as in the original. Left out: the user preference "confirm", layouts,
// warn/contextWarn, login dialogs, the notification drop-down.
/*global define, setTimeout, document*/
define([
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/Deferred",
	"dojo/dom-construct",
	"dojo/dom-class",
	"dijit/Dialog",
	"dijit/form/Button",
	"umc/i18n!"
], function(lang, array, Deferred, domConstruct, domClass, Dialog, DijitButton, _) {
	var open = function(content, options, title, onChoice) {
		var dialog = new Dialog({
			title: title || '',
			'class': 'umcConfirmDialog',
			closable: false,
			draggable: false
		});
		var body = domConstruct.create('div', {'class': 'umcConfirmDialogMessage'}, dialog.containerNode);
		if (content && content.domNode) {
			domConstruct.place(content.domNode, body);
		} else {
			body.innerHTML = content;
		}
		var buttons = domConstruct.create('div', {'class': 'umcConfirmDialogButtons'}, dialog.containerNode);
		var chosen = false;
		array.forEach(options, function(option, index) {
			var button = new DijitButton({
				label: option.label,
				'class': option['default'] ? 'ucsPrimaryButton' : 'ucsTextButton',
				onClick: function() {
					if (chosen) {
						return;
					}
					chosen = true;
					var response = option.name !== undefined ? option.name : index;
					dialog.hide().then(function() {
						dialog.destroyRecursive();
					});
					onChoice(option, response);
				}
			});
			button.placeAt(buttons);
		});
		dialog.show();
		return dialog;
	};

	var self = {
		alert: function(message, title, buttonLabel) {
			var deferred = new Deferred();
			open(message, [{label: buttonLabel || _('Ok'), 'default': true}], title || _('Notification'), function() {
				deferred.resolve();
			});
			return deferred;
		},

		confirm: function(message, options, title) {
			var deferred = new Deferred();
			deferred.dialog = open(message, options, title || _('Confirmation'), function(option, response) {
				if (option.callback) {
					option.callback(response);
				}
				deferred.resolve(response);
			});
			return deferred;
		},

		confirmForm: function(props) {
			var deferred = new Deferred();
			var container = domConstruct.create('div', {'class': 'umcForm'});
			var widgets = {};
			array.forEach(props.widgets, function(conf) {
				var Type = conf.type;
				var widgetProps = lang.mixin({}, conf);
				delete widgetProps.type;
				delete widgetProps.label;
				var widget = new Type(widgetProps);
				widgets[conf.name] = widget;
				var row = domConstruct.create('div', {'class': 'umcFormRow'}, container);
				if (conf.label) {
					domConstruct.create('label', {innerHTML: conf.label, 'for': widget.id}, row);
				}
				widget.placeAt(row);
				widget.startup();
			});
			var values = function() {
				var result = {};
				for (var name in widgets) {
					if (widgets.hasOwnProperty(name)) {
						var value = widgets[name].get('value');
						if (value !== undefined) {
							result[name] = value;
						}
					}
				}
				return result;
			};
			open({domNode: container}, [{
				name: 'cancel',
				label: props.close || _('Cancel')
			}, {
				name: 'submit',
				label: props.submit || _('Submit'),
				'default': true
			}], props.title, function(option) {
				if (option.name === 'submit') {
					deferred.resolve(values());
				} else {
					deferred.cancel({button: option.name, values: values()});
				}
			});
			return deferred;
		},

		contextNotify: function(message) {
			var node = domConstruct.create('div', {
				'class': 'umcSnackbar',
				role: 'status',
				innerHTML: message
			}, document.body);
			setTimeout(function() {
				domClass.add(node, 'umcSnackbarHidden');
				setTimeout(function() {
					domConstruct.destroy(node);
				}, 500);
			}, 4000);
		},

		notify: function(message) {
			self.contextNotify(message);
		}
	};
	return self;
});
